"""Nothing half done when the broker is down: the run and its dispatch commit together (the outbox,
services/lifecycle/dispatch.py); with a broker that does not answer (a port nothing listens on) `tally run`
fails within seconds in one line and leaves the run PENDING with its dispatch unsent; once a real
redis-server listens on that port, beat starts the run by itself, or `tally run` does."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from models import entities as m
from models.db import session_scope
from scheduler.reconcile import reconcile
from tests import factories as f
from tests.support import RedisServer, Stack, free_port, period_runs, wait_for

pytestmark = pytest.mark.integration


def _dispatches(url: str, run_id: int) -> list[tuple[bool, int, str | None]]:
    with session_scope(url) as session:
        return [(d.sent_at is not None, d.attempts, d.last_error) for d in session.scalars(
            select(m.Dispatch).where(m.Dispatch.run_id == run_id).order_by(m.Dispatch.id))]


@pytest.fixture
def dead_broker_stack(pg_url, tmp_path):
    """A stack whose broker URL names a free port where nothing listens (yet)."""
    port = free_port()
    stack = Stack(pg_url, f"redis://127.0.0.1:{port}/0", tmp_path, TALLY_ADVANCE_INTERVAL="0.3",
                  TALLY_RECONCILE_INTERVAL="0.3")
    stack.redis = RedisServer(tmp_path, port=port)
    try:
        yield stack
    finally:
        stack.stop()
        stack.redis.stop()


def _run_with_broker_down(stack) -> tuple[int, int, int]:
    definition = f.election("outbox-1", [f.contest("mayor", "plurality-at-large")])
    ballots = f.random_ballots(definition, 500, seed=21)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    started = time.monotonic()
    down = stack.tally("run", str(election_id), str(period_id), "--force", "--wait", check=False)
    took = time.monotonic() - started
    assert down.returncode == 3, down
    assert took < 15, f"`tally run` took {took:.1f} s with the broker down"
    lines = down.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in down.stderr, down.stderr
    assert "cannot reach the broker" in lines[0] and f"tally run {election_id} {period_id}" in lines[0], lines
    assert down.stdout == ""
    [(run_id, status, _)] = period_runs(stack.database_url, period_id)
    assert status == "PENDING"
    [(sent, attempts, error)] = _dispatches(stack.database_url, run_id)
    assert not sent and attempts == 1 and "Connection refused" in error
    # Waiting for the broker is not being stuck: the reconciler leaves the run alone.
    with session_scope(stack.database_url) as session:
        assert reconcile(session, stuck_after=0) == []
    assert period_runs(stack.database_url, period_id)[0][1] == "PENDING"
    return election_id, period_id, run_id


@pytest.mark.slow
def test_broker_down_then_back_beat_starts_the_run(dead_broker_stack):
    stack = dead_broker_stack
    election_id, period_id, run_id = _run_with_broker_down(stack)

    stack.redis.start()
    stack.start_worker("w1")
    stack.start_beat()
    wait_for(lambda: period_runs(stack.database_url, period_id)[-1][1] == "COMPLETED", 60, what="the run to complete")
    assert [r[:2] for r in period_runs(stack.database_url, period_id)] == [(run_id, "COMPLETED")]
    [(sent, attempts, _)] = _dispatches(stack.database_url, run_id)
    assert sent and attempts == 2


@pytest.mark.slow
def test_broker_down_then_back_tally_run_starts_the_run(dead_broker_stack):
    stack = dead_broker_stack
    election_id, period_id, run_id = _run_with_broker_down(stack)

    stack.redis.start()
    stack.start_worker("w1")
    up = stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "60")
    assert f"tally run {run_id}: started" in up.stdout and "Winners:" in up.stdout
    assert [r[:2] for r in period_runs(stack.database_url, period_id)] == [(run_id, "COMPLETED")]
    assert [d[0] for d in _dispatches(stack.database_url, run_id)] == [True]


UNINSTALLED = (
    "import sys\n"
    "from models.db import session_scope\n"
    "from services.lifecycle.commands import RequestTally\n"
    "with session_scope() as session:\n"
    "    RequestTally(int(sys.argv[1]), int(sys.argv[2]), force=True, by='test').run(session)\n"
)


@pytest.mark.slow
def test_a_process_without_a_dispatcher_fails_loudly_and_leaves_the_run_in_the_outbox(stack):
    """The outbox sends through the dispatcher the worker application installs (tasks.dispatch): a
    process that starts a run without one raises after its commit, instead of quietly recording the
    dispatch as failed, and the run waits in the outbox for a process that has one."""
    definition = f.election("outbox-2", [f.contest("mayor", "plurality-at-large")])
    election_id, period_id = f.load(stack.database_url, definition, f.random_ballots(definition, 100, seed=4))
    out = subprocess.run([sys.executable, "-c", UNINSTALLED, str(election_id), str(period_id)], env=stack.env,
                         cwd=stack.workdir, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "RuntimeError: no tally dispatcher installed" in out.stderr, out.stderr
    [(run_id, status, _)] = period_runs(stack.database_url, period_id)
    assert status == "PENDING" and _dispatches(stack.database_url, run_id) == [(False, 0, None)]

    stack.start_worker("w1")
    up = stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "60")
    assert f"tally run {run_id}: started" in up.stdout
    assert [r[:2] for r in period_runs(stack.database_url, period_id)] == [(run_id, "COMPLETED")]
