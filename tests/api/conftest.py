"""Helpers of the API tests: sample elections, tokens, an in-process client (Celery eager) and a
real `tally api` process on a free loopback port (for the tests with real workers)."""

from __future__ import annotations

import socket
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from cli.demo import definition, sample_ballots
from models import entities as m
from models.db import session_scope
from services import tokens
from services.lifecycle import periods
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from tests.support import BIN, postgres_database

BASE = "/api/v1/admin/elections/{e}/voting-periods/{p}/tally"


@dataclass(frozen=True)
class Election:
    id: int
    key: str
    period_id: int

    def base(self) -> str:
        return BASE.format(e=self.id, p=self.period_id)


def make_election(url: str, key: str, ballots: int = 120, ended: bool = True, seed: int = 7) -> Election:
    """The demo's sample election (plurality council, IRV mayor, Meek STV board) with `ballots`
    ballots per contest; its one period ended a minute ago (or ends in an hour)."""
    ends = periods.now() + (timedelta(minutes=-1) if ended else timedelta(hours=1))
    with session_scope(url) as session:
        doc = definition(key, ends)
        doc["voting_periods"][0]["seal"] = "at-close"  # closing (or force) seals it
        report = load_definition(session, doc)
        if ballots:
            load_ballots(session, key, "main", sample_ballots(doc["contests"], ballots, seed))
        period_id = session.get(m.Election, report.election_id).periods[0].id
    return Election(report.election_id, key, period_id)


def add_period(url: str, election: Election, name: str) -> int:
    """A second voting period of the same election (OPEN, ended), for the ownership error."""
    with session_scope(url) as session:
        row = m.VotingPeriod(election_id=election.id, name=name, ends_at=periods.now() - timedelta(minutes=1))
        session.add(row)
        session.flush()
        return row.id


def make_token(url: str, role: str = "ADMIN", name: str = "test") -> str:
    with session_scope(url) as session:
        return tokens.create(session, role, name).token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message"}, body
    assert body["status"] == status
    assert body["timestamp"].endswith("Z")
    if message is not None:
        assert body["message"] == message
    return body


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One real PostgreSQL database for a test module, used in-process (DATABASE_URL set, Celery
    eager); each test makes its own election, so tests do not see each other's runs."""
    with postgres_database() as url, pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", url)
        patch.setenv("TALLY_EXPORT_DIR", str(tmp_path_factory.mktemp("exports")))
        yield url


@pytest.fixture(scope="module")
def client(db):
    """The app in-process; Celery runs eagerly (a POST /run tallies before it answers, while still
    answering the run as created)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*")
        from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(db):
    return bearer(make_token(db, "ADMIN", "admin"))


@pytest.fixture
def election(db):
    return make_election(db, f"api-{uuid.uuid4().hex[:10]}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(stack) -> str:
    """A real `tally api` process for the stack; returns its base URL once it answers."""
    port = free_port()
    stack._spawn("api", [str(BIN / "tally"), "api", "--host", "127.0.0.1", "--port", str(port),
                         "--log-level", "warning"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/openapi.json", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        if stack.processes["api"].poll() is not None:
            raise RuntimeError(f"tally api exited: {stack.log('api')[-2000:]}")
        time.sleep(0.1)
    raise TimeoutError("tally api did not answer within 30 s")
