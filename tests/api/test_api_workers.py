"""The admin API as deployed: a real `tally api` process, real celery workers, PostgreSQL and
Redis. A hundred parallel POST /run make one run; run -> status -> rollback -> re-run; the
public exports verify with `tally verify`; tokens come from the CLI and are stored hashed."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
import pytest
from sqlalchemy import select, text

from models import entities as m
from services.lifecycle import runs
from tests.support import wait_for

from .conftest import assert_error, bearer, make_election, start_api

pytestmark = pytest.mark.integration


async def _burst(url: str, headers: dict, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(
            *(client.post(url, json={"remarks": f"call {i}", "force": True}, headers=headers) for i in range(count))
        )


def _status(api: str, election, headers) -> dict:
    response = httpx.get(api + election.base() + "/status", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _completed(api, election, headers, run_id) -> dict:
    def done():
        state = _status(api, election, headers)
        assert state["status"] not in ("FAILED",), state
        return state if state["tallyRunId"] == run_id and state["status"] == "COMPLETED" else None

    return wait_for(done, timeout=120, what=f"run {run_id} COMPLETED")


@pytest.mark.slow
def test_hundred_parallel_runs_then_status_rollback_and_rerun(stack, tmp_path):
    election = make_election(stack.database_url, "workers-1", ballots=400)
    token = stack.cli("token", "create", "--role", "ADMIN", "--name", "ops").stdout.strip()
    headers = bearer(token)
    api = start_api(stack)

    # 1. the period ended but is still OPEN: refused without force
    assert_error(httpx.post(api + election.base() + "/run", json={"force": False}, headers=headers), 400,
                 runs.NOT_CLOSED)

    # 2. a hundred parallel calls (no worker yet, so the run stays PENDING): exactly one run
    responses = asyncio.run(_burst(api + election.base() + "/run", headers, 100))
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [400] * 99, codes
    assert {r.json()["message"] for r in responses if r.status_code == 400} == {runs.IN_PROGRESS}
    created = next(r.json() for r in responses if r.status_code == 202)
    assert created["status"] == "PENDING"
    run_id = created["tallyRunId"]
    with stack.session() as session:
        assert session.scalars(select(m.TallyRun.id)).all() == [run_id]
        closed = session.scalars(select(m.AuditEvent).where(m.AuditEvent.kind == "voting period closed")).all()
        assert len(closed) == 1  # force closed the period once, recorded in the audit log
    pending = _status(api, election, headers)
    assert (pending["status"], pending["completedAt"], pending["totalWinnersApplied"]) == ("PENDING", None, None)

    # 3. real workers tally it; the status shows it completed with its progress
    stack.start_worker("w1", concurrency=2)
    state = _completed(api, election, headers, run_id)
    assert state["progress"]["areasDone"] == state["progress"]["areasTotal"] == 3 * 9
    assert state["progress"]["ballotsProcessed"] == 3 * 400
    assert state["totalPositionsCertified"] == 3 and state["totalWinnersApplied"] == 6
    again = httpx.post(api + election.base() + "/run", json={"force": True}, headers=headers)
    assert again.status_code == 200
    assert again.json()["message"] == "Tally already completed (idempotent)"
    assert again.json()["tallyRunId"] == run_id

    # 4. the public exports of the run verify
    files = _download(api, election, tmp_path / "first")
    check = stack.cli("verify", str(files / "ballots.json"), str(files / "audit.json"), check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "verify: OK" in check.stdout

    # 5. rollback: winners gone, run ROLLED_BACK, results and audit history kept
    rolled = httpx.post(api + election.base() + "/rollback", params={"reason": "Election disputed"}, headers=headers)
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["winnersRemoved"] == 6 and rolled.json()["status"] == "ROLLED_BACK"
    with stack.session() as session:
        assert session.scalar(select(text("count(*)")).select_from(m.WinnerAssignment)) == 0
        assert session.scalar(select(text("count(*)")).select_from(m.CertifiedResult)) > 0
    assert _status(api, election, headers)["status"] == "ROLLED_BACK"
    assert httpx.get(api + f"/elections/{election.id}/public/ballots.json").status_code == 404
    assert httpx.get(api + f"/elections/{election.id}/public/audit.json").status_code == 200

    # 6. the tally runs again and completes; the audit log keeps both runs
    rerun = httpx.post(api + election.base() + "/run", json={"remarks": "re-run"}, headers=headers)
    assert rerun.status_code == 202, rerun.text
    second = rerun.json()["tallyRunId"]
    assert second != run_id
    _completed(api, election, headers, second)
    files = _download(api, election, tmp_path / "second")
    audit = json.loads((files / "audit.json").read_text())
    kinds = [e["kind"] for e in audit["events"]]
    assert kinds.count("tally completed") == 2 and kinds.count("tally rolled back") == 1
    check = stack.cli("verify", str(files / "ballots.json"), str(files / "audit.json"), check=False)
    assert check.returncode == 0, check.stdout + check.stderr


def _download(api: str, election, out):
    out.mkdir(parents=True)
    for name in ("ballots.json", "audit.json", "results.json"):
        response = httpx.get(f"{api}/elections/{election.id}/public/{name}", timeout=60)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        (out / name).write_bytes(response.content)
    return out


@pytest.mark.slow
def test_tokens_from_the_cli_are_stored_hashed_and_revocable(stack):
    election = make_election(stack.database_url, "tokens-1", ballots=0)
    created = stack.cli("token", "create", "--role", "admin", "--name", "alice")
    token = created.stdout.strip()
    assert token.startswith("tly_") and len(token) > 40
    assert "shown only this once" in created.stderr
    viewer = stack.cli("token", "create", "--role", "VIEWER").stdout.strip()
    with stack.session() as session:
        rows = session.scalars(select(m.ApiToken).order_by(m.ApiToken.id)).all()
        assert [(r.role, r.name) for r in rows] == [("ADMIN", "alice"), ("VIEWER", "")]
        assert rows[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
        dump = session.execute(text("SELECT string_agg(t::text, ' ') FROM api_tokens t")).scalar()
    assert token not in dump and viewer not in dump and token[4:] not in dump

    listing = stack.cli("token", "list")
    assert token not in listing.stdout
    entries = json.loads(listing.stdout)
    assert [(e["id"], e["role"], e["revoked_at"]) for e in entries] == [(rows[0].id, "ADMIN", None),
                                                                       (rows[1].id, "VIEWER", None)]
    api = start_api(stack)
    url = api + election.base() + "/status"
    assert httpx.get(url, headers=bearer(token)).status_code == 200
    assert_error(httpx.get(url, headers=bearer(viewer)), 403)
    stack.cli("token", "revoke", str(rows[0].id))
    assert_error(httpx.get(url, headers=bearer(token)), 401)
    assert json.loads(stack.cli("token", "list").stdout)[0]["revoked_at"] is not None
    assert stack.cli("token", "revoke", "999", check=False).returncode == 2
    bad_role = stack.cli("token", "create", "--role", "no such role!", check=False)
    assert bad_role.returncode == 2 and "role" in bad_role.stderr
    assert token not in stack.log("api")
