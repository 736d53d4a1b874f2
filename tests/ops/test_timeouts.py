"""Nothing waits forever: the application's PostgreSQL sessions carry statement, lock-wait and
idle-in-transaction limits (TALLY_PG_*), and a tally task stuck past its Celery time limit
(TALLY_TIME_LIMIT_*) fails its run instead of hanging it; a retry then completes."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.db import get_engine, session_scope
from tests.api.conftest import make_election
from tests.support import period_runs, wait_for

pytestmark = pytest.mark.integration


def test_postgres_sessions_of_the_application_are_limited(pg_url, monkeypatch):
    monkeypatch.setenv("TALLY_PG_STATEMENT_TIMEOUT", "500")
    monkeypatch.setenv("TALLY_PG_LOCK_TIMEOUT", "300")
    monkeypatch.setenv("TALLY_PG_IDLE_IN_TRANSACTION_TIMEOUT", "700")
    get_engine(pg_url).dispose()
    with session_scope(pg_url) as session:
        shown = [session.execute(text(f"SHOW {name}")).scalar() for name in
                 ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")]
    assert shown == ["500ms", "300ms", "700ms"]

    started = time.monotonic()
    with pytest.raises(DBAPIError, match="statement timeout"):
        with session_scope(pg_url) as session:
            session.execute(text("SELECT pg_sleep(5)"))
    assert time.monotonic() - started < 3

    holder = psycopg.connect(pg_url.replace("+psycopg", ""))
    try:
        holder.execute("LOCK TABLE tally_runs IN ACCESS EXCLUSIVE MODE")  # held: autocommit is off
        started = time.monotonic()
        with pytest.raises(DBAPIError, match="lock timeout"):
            with session_scope(pg_url) as session:
                session.execute(text("SELECT count(*) FROM tally_runs"))
        assert time.monotonic() - started < 3
    finally:
        holder.close()

    with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
        with session_scope(pg_url) as session:
            session.execute(text("SELECT 1"))
            time.sleep(1.5)  # idle in a transaction past the limit: the server ends the session
            session.execute(text("SELECT 1"))
    get_engine(pg_url).dispose()


@pytest.mark.slow
def test_an_area_task_past_its_time_limit_fails_the_run_and_a_retry_completes(stack):
    stack.env.update(TALLY_TIME_LIMIT_AREA="1/3", TALLY_PG_LOCK_TIMEOUT="0")  # wait on the lock forever...
    election = make_election(stack.database_url, "time-limit", ballots=30)
    stack.start_worker("w1", concurrency=3)
    holder = psycopg.connect(stack.database_url.replace("+psycopg", ""))
    try:
        # ...behind a lock held by someone else: no area task gets past its first look at the staged
        # areas (tally.start, which reads the ballots to size the area tasks, is not held up)
        holder.execute("LOCK TABLE staged_area_results IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        stack.tally("run", str(election.id), str(election.period_id), "--force")
        wait_for(lambda: "time limit" in stack.log("w1").lower(), timeout=60, what="an area task's time limit")
    finally:
        holder.close()  # the failure drops the run's staged areas: that waits for the lock too
    runs = wait_for(lambda: (r := period_runs(stack.database_url, election.period_id)) and r[-1][1] == "FAILED" and r,
                    timeout=120, what="the run to fail at the area time limit")
    failed_after = time.monotonic() - started
    assert "time limit" in (runs[-1][2] or "").lower() or "TimeLimitExceeded" in (runs[-1][2] or ""), runs[-1]
    print(f"\nan area task stuck behind a lock: run FAILED after {failed_after:.1f} s (soft limit 1 s, hard 3 s)")

    stack.tally("run", str(election.id), str(election.period_id))
    runs = wait_for(lambda: (r := period_runs(stack.database_url, election.period_id)) and r[-1][1] == "COMPLETED" and r,
                    timeout=60, what="the retry to complete")
    assert [status for _id, status, _error in runs] == ["FAILED", "COMPLETED"]
