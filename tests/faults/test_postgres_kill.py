"""The PostgreSQL backend of the finalize step terminated in the middle of its COMMIT: nothing of
that run is visible, before or after; a retry then completes and publishes once.

To hit the commit every time, the test database (only it) gets a deferred constraint trigger on
winner_assignments that sleeps, once, at commit time: the finalize transaction has written every
certified row and is committing when the test finds its backend in pg_stat_activity and calls
pg_terminate_backend on it. The shared server keeps running."""

from __future__ import annotations

import psycopg
import pytest

from tests import factories as f
from tests.support import wait_for

from .helpers import (
    NoPartialResults, audit_kinds, election_status, published_rows, results, runs, staged_areas, wait_run_over,
)

pytestmark = pytest.mark.integration

SLOW_COMMIT = """
CREATE SEQUENCE fault_finalize_commits;
CREATE FUNCTION fault_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('fault_finalize_commits') = 1 THEN
        PERFORM pg_sleep(60);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER fault_slow_commit AFTER INSERT ON winner_assignments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_slow_commit();
"""

# The finalize backend: sleeping inside COMMIT, holding row locks on the certified tables.
FINALIZE_BACKEND = """
SELECT a.pid FROM pg_stat_activity a
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
  AND a.query ILIKE 'COMMIT%' AND a.wait_event = 'PgSleep'
  AND EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
              WHERE l.pid = a.pid AND c.relname IN ('certified_results', 'winner_assignments')
                AND l.mode = 'RowExclusiveLock')
"""


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.mark.slow
def test_finalize_backend_terminated_mid_commit(stack):
    definition = f.election("pgkill-1", [f.contest("mayor", "instant-runoff", candidates=4),
                                         f.contest("council", "plurality-at-large", candidates=5, seats=2,
                                                   max_votes=2)],
                            areas=f.area_tree((3, 4)))
    ballots = f.random_ballots(definition, 3000, seed=21)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    with psycopg.connect(_libpq(stack.database_url), autocommit=True) as conn:
        conn.execute(SLOW_COMMIT)
    stack.start_worker("w1")
    stack.start_worker("w2")

    with NoPartialResults(stack.database_url) as reader, \
            psycopg.connect(_libpq(stack.database_url), autocommit=True) as admin:
        stack.tally("advance")
        pid = wait_for(lambda: admin.execute(FINALIZE_BACKEND).fetchone(), 60, 0.05, "finalize to be committing")[0]
        run_id = runs(stack.database_url, period_id)[-1][0]
        # Mid-commit, everything written: a reader still sees none of it.
        assert published_rows(stack.database_url) == {
            "certified_results": 0, "certified_candidate_results": 0, "winner_assignments": 0}
        assert election_status(stack.database_url, election_id) == "closed"
        assert runs(stack.database_url, period_id)[-1][1] == "RUNNING"
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0] is True

        first = wait_run_over(stack.database_url, period_id, 60)
        assert first[0] == run_id
        if first[1] == "FAILED":
            # Nothing of the run is visible, its partials are dropped, the reason is on record.
            assert published_rows(stack.database_url, run_id) == {
                "certified_results": 0, "certified_candidate_results": 0, "winner_assignments": 0}
            assert election_status(stack.database_url, election_id) == "closed"
            assert staged_areas(stack.database_url, run_id) == 0
            assert "administrator command" in first[2], first
            assert ("tally failed", {"error": first[2]}) in audit_kinds(stack.database_url, run_id)
            assert "tally completed" not in [k for k, _ in audit_kinds(stack.database_url, run_id)]
            out = stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "60").stdout
            assert "Winners:" in out
    reader.check()

    history = runs(stack.database_url, period_id)
    assert [s for _, s, _ in history] in (["COMPLETED"], ["FAILED", "COMPLETED"]), history
    assert results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    completed = history[-1][0]
    assert [k for k, _ in audit_kinds(stack.database_url, completed)].count("tally completed") == 1
    assert published_rows(stack.database_url) == published_rows(stack.database_url, completed)
    assert election_status(stack.database_url, election_id) == "tallied"
    with psycopg.connect(_libpq(stack.database_url), autocommit=True) as conn:
        assert conn.execute("SELECT last_value FROM fault_finalize_commits").fetchone()[0] >= 2
    print(f"finalize backend {pid} terminated mid-commit; runs: {[(s, e) for _, s, e in history]}")


# The first statement that stages area partials ends its own backend, as pg_terminate_backend from
# an operator or a failover would: the area task meets AdminShutdown on the raw psycopg cursor.
KILL_FIRST_STAGING = """
CREATE SEQUENCE fault_stagings;
CREATE FUNCTION fault_kill_first_staging() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF nextval('fault_stagings') = 1 THEN
        PERFORM pg_terminate_backend(pg_backend_pid());
        PERFORM pg_sleep(10);  -- the termination is served here
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER fault_kill_first_staging AFTER INSERT ON staged_area_results
    FOR EACH STATEMENT EXECUTE FUNCTION fault_kill_first_staging();
"""


@pytest.mark.slow
def test_an_area_task_whose_connection_is_terminated_retries_and_the_tally_completes(stack):
    """Issue 29: an area task's raw psycopg cursor raised AdminShutdown, which the base task did not
    retry (it retried SQLAlchemy's OperationalError only), so the run ended FAILED where the
    contest step and finalize would have retried."""
    definition = f.election("pgkill-area", [f.contest("mayor", "plurality-at-large", candidates=3)],
                            areas=f.area_tree((2,)))
    ballots = f.random_ballots(definition, 300, seed=5)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    with psycopg.connect(_libpq(stack.database_url), autocommit=True) as conn:
        conn.execute(KILL_FIRST_STAGING)
    stack.start_worker("w1")
    stack.tally("advance")
    run_id, status, error = wait_run_over(stack.database_url, period_id, 90)
    assert (status, error) == ("COMPLETED", None), stack.log("w1")[-3000:]
    assert results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    with psycopg.connect(_libpq(stack.database_url), autocommit=True) as conn:
        assert conn.execute("SELECT last_value FROM fault_stagings").fetchone()[0] >= 2  # killed, then staged
    assert "AdminShutdown" in stack.log("w1") and "Retry in" in stack.log("w1")
