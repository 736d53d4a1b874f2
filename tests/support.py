"""Real servers for tests: a fresh PostgreSQL database per test and a Redis DB number of a private
redis-server started for the test session, real
`celery worker`/`beat` processes and the real `tally` console script, all on loopback."""

from __future__ import annotations

import atexit
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
import redis
from celery import Celery
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models.db import get_engine, session_scope, upgrade

PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


def _database_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def _drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_templates: dict[str, str] = {}


def _template(revision: str) -> str:
    """A database migrated to `revision` once per test process (xdist runs several, each its own),
    dropped when the process exits: each test's database is a copy of it, which takes a tenth of
    the time migrating one does."""
    name = _templates.get(revision)
    if name is None:
        name = f"tally_template_{os.getpid()}_{revision}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        atexit.register(_drop_database, name)
        url = _database_url(name)
        upgrade(url, revision)
        get_engine(url).dispose()  # a template is copied only while no one is connected to it
        _templates[revision] = name
    return name


@contextmanager
def postgres_database(revision: str = "head"):
    """A new database with the schema applied (up to `revision`); dropped afterwards."""
    template = _template(revision)
    name = f"tally_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = _database_url(name)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        _drop_database(name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of the tests' own on a free loopback port, without persistence: the tests
    never touch (or flush) a Redis they did not start, and stopping it loses every queued and
    unacked message, every result and every chord counter."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.port = port or free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15) -> None:
        self.starts += 1
        log_path = self.workdir / f"redis-{self.port}-{self.starts}.log"
        self._log = log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--maxmemory-policy", "noeviction"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, socket_connect_timeout=1)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log_path.read_text()}")
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        try:
            wait_for(up, timeout, 0.05, "redis-server to answer")
        finally:
            client.close()

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=15)
        self.proc = None
        self._log.close()


@contextmanager
def own_redis(workdir: Path):
    server = RedisServer(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def redis_database(server_url: str):
    """A Redis DB number (1-15) of the tests' own server, empty for this test, flushed afterwards.
    The claim key guards against two test processes sharing one server."""
    admin = redis.Redis.from_url(server_url)
    token = uuid.uuid4().hex
    for number in range(1, 16):
        if admin.set(f"tally-test-claim:{number}", token, nx=True, ex=3600):
            break
    else:
        raise RuntimeError("no free Redis DB number for the test")
    url = f"{server_url.rsplit('/', 1)[0]}/{number}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        admin.delete(f"tally-test-claim:{number}")


class Stack:
    """Processes of one test: workers, beat and CLI calls share the test's database and broker."""

    def __init__(self, database_url: str, broker_url: str, workdir: Path, **settings: str):
        self.database_url = database_url
        self.broker_url = broker_url
        self.workdir = workdir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TALLY_", "DATABASE_URL"))},
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "TALLY_HOME": str(workdir),
            "TALLY_MIN_BATCH": "1",  # the tests' elections are small (tests/conftest.py)
            **settings,
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen(args, env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.processes[name] = proc
        return proc

    def start_worker(self, name: str, concurrency: int = 1, wait: bool = True) -> subprocess.Popen:
        proc = self._spawn(
            name,
            [str(BIN / "celery"), "-A", "worker.app", "worker", "-n", f"{name}@%h", "-c", str(concurrency),
             "-P", "prefork", "-Q", "tally", "--without-mingle", "--without-gossip", "-l", "INFO"],
        )
        if wait:
            self.wait_for_workers([name])
        return proc

    def start_beat(self, name: str = "beat") -> subprocess.Popen:
        return self._spawn(
            name,
            [str(BIN / "celery"), "-A", "worker.app", "beat", "-s", str(self.workdir / f"{name}-schedule"),
             "-l", "INFO"],
        )

    def wait_for_workers(self, names: list[str], timeout: float = 60) -> None:
        app = Celery(broker=self.broker_url)
        deadline = time.monotonic() + timeout
        want = set(names)
        try:
            while time.monotonic() < deadline:
                replies = app.control.ping(timeout=1.0) or []
                seen = {name.split("@")[0] for reply in replies for name in reply}
                if want <= seen:
                    return
                for n in want:
                    if self.processes[n].poll() is not None:
                        raise RuntimeError(f"worker {n} exited: {self.log(n)[-2000:]}")
            raise TimeoutError(f"workers {want} did not answer ping within {timeout} s")
        finally:
            app.close()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.processes.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def stop(self, graceful: bool = False) -> None:
        """Ends every process of the stack: at once (SIGKILL to each process group) unless
        `graceful`, since a test's teardown has nothing to wait for (a warm shutdown took 2-4 s)."""
        for name in list(self.processes):
            proc = self.processes[name]
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
        for name in list(self.processes):
            proc = self.processes.pop(name)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def tally(self, *args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
        """Run the real `tally` console script against this stack."""
        result = subprocess.run([str(BIN / "tally"), *args], env=self.env, cwd=self.workdir, capture_output=True,
                                text=True, input=input, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"tally {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`tally ...` in this process (cli.main.main) with the stack's database, for a command that
        sends nothing to a broker (load, seal, batch, status, results, export, verify, token, db):
        the same code and exit status as the console script, without its second of imports.
        A stack without a broker runs `run` and `advance` here too (embedded)."""
        from cli.main import main

        saved = {name: os.environ.get(name) for name in ("DATABASE_URL", "TALLY_HOME")}
        os.environ.update(DATABASE_URL=self.database_url, TALLY_HOME=str(self.workdir))
        out, err = io.StringIO(), io.StringIO()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                status = main(list(args))
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        result = subprocess.CompletedProcess(["tally", *args], status, out.getvalue(), err.getvalue())
        if check and status != 0:
            raise AssertionError(f"tally {' '.join(args)} failed ({status}): {result.stderr}")
        return result

    def session(self):
        return session_scope(self.database_url)


def refused(url: str, statement: str, match: str) -> None:
    """The statement, run in a transaction of its own at `url`, is refused by the database with `match`."""
    with pytest.raises(DBAPIError, match=match):
        with session_scope(url) as session:
            session.execute(text(statement))


def wait_for(predicate, timeout: float = 120, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def run_status(stack_or_url, run_id: int) -> str:
    from models import entities as m

    url = stack_or_url.database_url if isinstance(stack_or_url, Stack) else stack_or_url
    with session_scope(url) as session:
        return session.get(m.TallyRun, run_id).status.value


def period_runs(url: str, period_id: int) -> list:
    from models import entities as m

    with session_scope(url) as session:
        return [(r.id, r.status.value, r.error) for r in session.scalars(
            select(m.TallyRun).where(m.TallyRun.voting_period_id == period_id).order_by(m.TallyRun.id))]


def iso_in(seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


def write_json(path: Path, value) -> Path:
    path.write_text(json.dumps(value))
    return path


def rechain_audit(audit: dict) -> None:
    """What a forger with the database does after editing audit.json's events: renumber and re-chain them all."""
    from services.public_format import event_hash

    prev = "0" * 64
    for seq, event in enumerate(audit["events"], start=1):
        event["seq"], event["prev_hash"] = seq, prev
        prev = event["hash"] = event_hash(prev, seq, event["kind"], event["run_id"], event["created_at"],
                                          event["payload"])
    audit["head"] = prev
