"""A chord header task that fails every time it runs: the run ends FAILED within a bounded time,
with the reason in the audit log, nothing published, the period still CLOSED; no hang.

Two real ways for one area's task to fail for good, made in the test database only:
- its stored ballots are corrupt (marks that are not whole 4-byte marks: the decoder refuses them);
- the staging table refuses its partial (a trigger raising on insert for that area)."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import select

from models import entities as m
from tests import factories as f

from .helpers import (
    NoPartialResults, audit_kinds, election_status, period_status, published_rows, runs, staged_areas,
    wait_run_over,
)

pytestmark = pytest.mark.integration

BAD_AREA = "a2.3"

# Storage corruption, not an application write: the append-only trigger is bypassed as only a
# superuser can (session_replication_role), the way a damaged disk would bypass it.
BYPASS_TRIGGERS = "SET session_replication_role = replica"
CORRUPT_MARKS = "UPDATE ballots SET marks = '\\x000102'::bytea WHERE contest_id = %(contest)s AND area_id = %(area)s"
REFUSE_STAGING = """
CREATE FUNCTION fault_refuse_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.area_id = {area} AND NEW.contest_id = {contest} THEN
        PERFORM pg_sleep({delay});
        RAISE EXCEPTION 'fault test: staging refused for area %', NEW.area_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fault_refuse_area BEFORE INSERT OR UPDATE ON staged_area_results
    FOR EACH ROW EXECUTE FUNCTION fault_refuse_area();
"""


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["corrupt-ballots", "staging-refused"])
def test_area_task_failing_for_good_ends_the_run_failed(stack, fault):
    contests = [f.contest("mayor", "instant-runoff", candidates=4),
                f.contest("council", "plurality-at-large", candidates=5, seats=2, max_votes=2)]
    definition = f.election(f"fail-{fault}", contests, areas=f.area_tree((3, 4)))
    ballots = f.random_ballots(definition, 3000, seed=31)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    with stack.session() as session:
        contest = session.scalar(select(m.Contest).where(m.Contest.key == "mayor"))
        area = session.scalar(select(m.Area).where(m.Area.key == BAD_AREA))
        ids = {"contest": contest.id, "area": area.id}
    with psycopg.connect(stack.database_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        if fault == "corrupt-ballots":
            conn.execute(BYPASS_TRIGGERS)
            assert conn.execute(CORRUPT_MARKS, ids).rowcount > 0
        else:
            conn.execute(REFUSE_STAGING.format(delay=0, **ids))
    stack.start_worker("w1")
    stack.start_worker("w2")

    with NoPartialResults(stack.database_url) as reader:
        started = time.monotonic()
        stack.tally("advance")
        run_id, status, error = wait_run_over(stack.database_url, period_id, 60)
        elapsed = time.monotonic() - started
        time.sleep(2)  # the other contest's chord may still finish: it must not revive the run
    reader.check()

    assert status == "FAILED", (status, error)
    assert runs(stack.database_url, period_id) == [(run_id, "FAILED", error)]
    # The reason names the root cause, not only "the chord failed".
    reason = "multiple of 4 bytes" if fault == "corrupt-ballots" else "fault test: staging refused"
    assert reason in error, error
    events = audit_kinds(stack.database_url, run_id)
    assert [p for k, p in events if k == "tally failed"] == [{"error": error}]
    assert "tally completed" not in [k for k, _ in events]
    assert published_rows(stack.database_url) == {
        "certified_results": 0, "certified_candidate_results": 0, "winner_assignments": 0}
    assert period_status(stack.database_url, period_id) == "CLOSED"
    assert election_status(stack.database_url, election_id) == "closed"
    assert staged_areas(stack.database_url, run_id) == 0
    print(f"{fault}: FAILED {elapsed:.1f} s after advance: {error}")


SLOW_CONTEST = """
CREATE FUNCTION fault_slow_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.contest_id = {contest} THEN
        PERFORM pg_sleep(1);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fault_slow_area BEFORE INSERT OR UPDATE ON staged_area_results
    FOR EACH ROW EXECUTE FUNCTION fault_slow_area();
"""


@pytest.mark.slow
def test_failed_run_keeps_no_partials_of_tasks_in_flight(stack):
    """An area task already past its first status check when the run fails must not stage its
    partial after fail_run dropped the run's staging (it was a bug: the status is now re-checked
    under the run's row lock before the upsert)."""
    contests = [f.contest("mayor", "instant-runoff", candidates=4),
                f.contest("council", "plurality-at-large", candidates=5, seats=2, max_votes=2)]
    definition = f.election("fail-inflight", contests, areas=f.area_tree((3, 4)))
    ballots = f.random_ballots(definition, 3000, seed=31)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    with stack.session() as session:
        mayor = session.scalar(select(m.Contest).where(m.Contest.key == "mayor"))
        council = session.scalar(select(m.Contest).where(m.Contest.key == "council"))
        bad = session.scalar(select(m.Area).where(m.Area.key == BAD_AREA))
        refused = {"contest": mayor.id, "area": bad.id}
        council_id = council.id
    # The bad mayor area fails after 2 s; meanwhile the other worker finishes the mayor areas and
    # moves on to council areas, each of which takes 1 s to stage: one is in flight at the failure.
    with psycopg.connect(stack.database_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(REFUSE_STAGING.format(delay=2, **refused))
        conn.execute(SLOW_CONTEST.format(contest=council_id))
    stack.start_worker("w1")
    stack.start_worker("w2")
    stack.tally("advance")
    run_id, status, error = wait_run_over(stack.database_url, period_id, 60)
    assert status == "FAILED", error
    time.sleep(2)  # the council area task in flight when the run failed finishes
    assert published_rows(stack.database_url) == {
        "certified_results": 0, "certified_candidate_results": 0, "winner_assignments": 0}
    assert staged_areas(stack.database_url, run_id) == 0
