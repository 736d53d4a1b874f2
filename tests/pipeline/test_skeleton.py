"""The backbone end to end on real PostgreSQL, Redis, `celery worker` and `celery beat` processes."""

from __future__ import annotations

import subprocess
import threading

import pytest
from sqlalchemy import func, select, text

from models import entities as m
from models.db import session_scope
from services.pipeline.area import process_areas
from services.pipeline.contest import aggregate_contest
from services.pipeline.publish import finalize
from services.read.results import published
from services.lifecycle.runs import fail_run
from tests import factories as f
from tests.support import BIN, iso_in, period_runs, wait_for

pytestmark = pytest.mark.integration


def _contest_results(url: str, election_id: int) -> dict[str, dict]:
    with session_scope(url) as session:
        tallies = published(session, election_id)["tallies"]
    assert len(tallies) == 1
    return {c["contest"]: c["result"] for c in tallies[0]["contests"]}


def _election_status(url: str, election_id: int) -> str:
    with session_scope(url) as session:
        return session.get(m.Election, election_id).status


@pytest.mark.slow
def test_beat_closes_and_tallies_with_no_human_action(stack):
    definition = f.election(
        "beat-1",
        [f.contest("council", "plurality-at-large", candidates=5, seats=2, max_votes=2)],
        ends_at=iso_in(4),
    )
    ballots = f.random_ballots(definition, 3000, seed=7)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    # About 330 ballots an area: two areas a message, five messages for the two workers.
    stack.env.update(TALLY_ADVANCE_INTERVAL="0.3", TALLY_BATCH_BALLOTS="700")
    stack.start_worker("w1")
    stack.start_worker("w2")
    stack.start_beat()
    assert _election_status(stack.database_url, election_id) == "open"

    wait_for(lambda: _election_status(stack.database_url, election_id) == "tallied", 120, what="tallied")

    assert _contest_results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    with stack.session() as session:
        period = session.get(m.VotingPeriod, period_id)
        assert period.status == m.PeriodStatus.CLOSED
        kinds = [e.kind for e in session.scalars(select(m.AuditEvent).order_by(m.AuditEvent.seq))]
    assert kinds[:3] == ["ballots loaded", "voting period closed", "ballots sealed"]  # closing sealed them
    assert kinds[-1] == "tally completed"
    # Both workers took part: the chord fanned out over processes.
    assert "tally.process_areas" in stack.log("w1") and "tally.process_areas" in stack.log("w2")


@pytest.mark.slow
def test_reader_never_sees_half_a_tally(stack):
    contests = [f.contest(f"c{i}", "plurality-at-large", candidates=4) for i in range(3)]
    definition = f.election("atomic-1", contests, areas=f.area_tree((4, 5)))
    ballots = f.random_ballots(definition, 2000, seed=3)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    stack.start_worker("w1")
    stack.start_worker("w2")
    observations = []
    done = threading.Event()

    def reader():
        # One statement, so both figures come from one snapshot, as any reader's page would.
        query = text(
            "SELECT (SELECT count(DISTINCT r.contest_id) FROM certified_results r "
            "        JOIN tally_runs t ON t.id = r.run_id WHERE t.election_id = :e), "
            "       (SELECT status FROM elections WHERE id = :e)"
        )
        while not done.is_set():
            with session_scope(stack.database_url) as session:
                observations.append(tuple(session.execute(query, {"e": election_id}).one()))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        stack.tally("advance")
        wait_for(lambda: _election_status(stack.database_url, election_id) == "tallied", 120, what="tallied")
    finally:
        done.set()
        thread.join()
    assert observations, "the reader made no observation"
    for count, status in observations:
        assert (count, status == "tallied") in ((0, False), (3, True)), observations
    assert (0, "open") in observations or (0, "closed") in observations  # it did watch the tally happen
    assert len(_contest_results(stack.database_url, election_id)) == 3


def test_area_task_twice_changes_nothing(embedded_db):
    definition = f.election("idem-1", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 500, seed=11)
    election_id, period_id = f.load(embedded_db, definition, ballots)
    run_id, plan = f.started_run(embedded_db, election_id, period_id)
    batches = plan[0]

    def staged():
        with session_scope(embedded_db) as session:
            rows = session.scalars(select(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id)).all()
            return sorted((r.area_id, repr(r.participation), repr(r.result), r.ballots_read) for r in rows)

    for batch in batches:
        with session_scope(embedded_db) as session:
            process_areas(session, run_id, batch.contest_id, list(batch.area_ids))
    first = staged()
    for batch in batches:  # a redelivery of every area task
        with session_scope(embedded_db) as session:
            assert process_areas(session, run_id, batch.contest_id, list(batch.area_ids)) == []
    assert staged() == first
    with session_scope(embedded_db) as session:
        assert aggregate_contest(session, run_id, batches[0].contest_id)
    with session_scope(embedded_db) as session:
        assert finalize(session, run_id)
    with session_scope(embedded_db) as session:  # a second finalize publishes nothing more
        assert not finalize(session, run_id)
    assert _contest_results(embedded_db, election_id) == f.direct_count(definition, ballots)


def test_two_advance_calls_at_once_create_one_run(stack):
    definitions = [f.election(f"race-{i}", [f.contest("c", "plurality-at-large")]) for i in range(3)]
    periods = []
    for d in definitions:
        periods.append(f.load(stack.database_url, d, f.random_ballots(d, 50, seed=1))[1])
    procs = [
        subprocess.Popen([str(BIN / "tally"), "advance"], env=stack.env, cwd=stack.workdir,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    for period_id in periods:
        assert len(period_runs(stack.database_url, period_id)) == 1


@pytest.mark.slow
def test_failing_tally_ends_failed_and_retry_succeeds(stack):
    definition = f.election("fail-1", [f.contest("mayor", "instant-runoff", candidates=3)])
    ballots = f.random_ballots(definition, 300, seed=5)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    # A fault of the database (the definition itself is sealed and cannot be mended in place):
    # every staged partial is refused until the operator removes the cause.
    with stack.session() as session:
        session.execute(text(
            "CREATE FUNCTION staging_full() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'staging volume full'; END; "
            "$$ LANGUAGE plpgsql"))
        session.execute(text("CREATE TRIGGER staging_full BEFORE INSERT ON staged_area_results "
                             "FOR EACH ROW EXECUTE FUNCTION staging_full()"))
    stack.start_worker("w1")
    stack.tally("advance")
    wait_for(lambda: period_runs(stack.database_url, period_id)[-1][1] == "FAILED", 60, what="FAILED")
    run_id, _, error = period_runs(stack.database_url, period_id)[-1]
    assert "staging volume full" in error
    with stack.session() as session:
        assert session.get(m.VotingPeriod, period_id).status == m.PeriodStatus.CLOSED
        assert session.get(m.Election, election_id).status == "closed"
        assert session.scalar(select(func.count()).select_from(m.CertifiedResult)) == 0
        failed = session.scalars(select(m.AuditEvent).where(m.AuditEvent.kind == "tally failed")).all()
        assert [e.run_id for e in failed] == [run_id] and "staging volume full" in failed[0].payload["error"]
        session.execute(text("DROP TRIGGER staging_full ON staged_area_results"))
    # The scheduler does not retry a failed period on its own: the operator does, once.
    assert "nothing to close or tally" in stack.tally("advance").stdout
    out = stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "120").stdout
    assert "Winners:" in out
    assert [s for _, s, _ in period_runs(stack.database_url, period_id)] == ["FAILED", "COMPLETED"]
    assert _contest_results(stack.database_url, election_id) == f.direct_count(definition, ballots)


def test_area_task_of_a_failed_run_stages_nothing(embedded_db):
    definition = f.election("late-1", [f.contest("mayor", "plurality-at-large")])
    election_id, period_id = f.load(embedded_db, definition, f.random_ballots(definition, 100, seed=2))
    run_id, plan = f.started_run(embedded_db, election_id, period_id)
    batch = plan[0][0]
    with session_scope(embedded_db) as session:  # the task loaded its run while it was RUNNING...
        task_run = session.get(m.TallyRun, run_id)
        assert task_run.status == m.RunStatus.RUNNING
        with session_scope(embedded_db) as other:  # ...and the reconciler failed it meanwhile
            fail_run(other, other.get(m.TallyRun, run_id), "stuck")
        assert process_areas(session, run_id, batch.contest_id, list(batch.area_ids)) == []
    with session_scope(embedded_db) as session:
        assert session.scalar(select(func.count()).select_from(m.StagedAreaResult)) == 0
