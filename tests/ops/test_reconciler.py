"""The reconciler on real PostgreSQL, Redis and `celery worker`/`beat` processes: a run whose
chord was lost is re-dispatched once and completes with the direct count; a run that cannot
recover ends FAILED with the reason in the audit log and nothing published."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import func, select, text

from models import entities as m
from models.db import session_scope
from services.pipeline.area import process_areas
from services.read.results import published
from tests import factories as f
from tests.support import period_runs, run_status, wait_for

pytestmark = pytest.mark.integration

RECONCILE = (
    "import json, sys\n"
    "from models.db import session_scope\n"
    "from scheduler.reconcile import reconcile\n"
    "from tasks.dispatch import install\n"
    "install()\n"
    "with session_scope() as session:\n"
    "    actions = reconcile(session, stuck_after=int(sys.argv[1]))\n"
    "print(json.dumps(actions))\n"
)


def _reconcile(stack, stuck_after: int) -> list[str]:
    """scheduler.reconcile.reconcile in its own process with the stack's settings, so that its
    after-commit dispatch goes to the test's real broker."""
    out = subprocess.run([sys.executable, "-c", RECONCILE, str(stuck_after)], env=stack.env, cwd=stack.workdir,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _lost_chord(url: str, definition: dict, ballots: list[dict], staged_areas: int) -> tuple[int, int, int]:
    """A RUNNING run with `staged_areas` partials staged per contest and nothing in flight: what is
    left when the broker lost the chord (or every worker died and its messages with it)."""
    election_id, period_id = f.load(url, definition, ballots)
    run_id, plan = f.started_run(url, election_id, period_id)  # RUNNING, planned; the chords are never sent
    for batches in plan:
        area_ids = [a for batch in batches for a in batch.area_ids]
        with session_scope(url) as session:
            process_areas(session, run_id, batches[0].contest_id, area_ids[:staged_areas])
    return election_id, period_id, run_id


def _results(url: str, election_id: int) -> dict[str, dict]:
    with session_scope(url) as session:
        tallies = published(session, election_id)["tallies"]
    assert len(tallies) == 1
    return {c["contest"]: c["result"] for c in tallies[0]["contests"]}


def _events(url: str, run_id: int) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        return [(e.kind, e.payload) for e in session.scalars(
            select(m.AuditEvent).where(m.AuditEvent.run_id == run_id).order_by(m.AuditEvent.seq))]


def _assert_nothing_published(url: str, election_id: int, period_id: int, run_id: int) -> None:
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(m.CertifiedResult)) == 0
        assert session.scalar(select(func.count()).select_from(m.WinnerAssignment)) == 0
        assert session.scalar(
            select(func.count()).select_from(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id)) == 0
        assert session.get(m.VotingPeriod, period_id).status == m.PeriodStatus.CLOSED
        assert session.get(m.Election, election_id).status == "closed"


@pytest.mark.slow
def test_lost_chord_is_redispatched_once_and_completes(stack):
    definition = f.election("lost-1", [
        f.contest("council", "plurality-at-large", candidates=5, seats=2, max_votes=2),
        f.contest("mayor", "instant-runoff", candidates=4),
    ])
    ballots = f.random_ballots(definition, 1500, seed=21)
    election_id, period_id, run_id = _lost_chord(stack.database_url, definition, ballots, staged_areas=5)
    stack.start_worker("w1")
    stack.start_worker("w2")

    assert _reconcile(stack, stuck_after=3600) == []  # fresh heartbeat: left alone
    assert _reconcile(stack, stuck_after=0) == [f"run {run_id} re-dispatched"]

    wait_for(lambda: run_status(stack, run_id) in ("COMPLETED", "FAILED"), 60, what="run to end")
    assert period_runs(stack.database_url, period_id) == [(run_id, "COMPLETED", None)]
    assert _results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    kinds = [k for k, _ in _events(stack.database_url, run_id)]
    assert kinds.count("tally redispatched") == 1 and kinds[-1] == "tally completed"
    assert _reconcile(stack, stuck_after=0) == []  # a finished run is never touched again


@pytest.mark.slow
def test_beat_reconciler_recovers_a_lost_chord(stack):
    definition = f.election("lost-beat", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 800, seed=4)
    election_id, period_id, run_id = _lost_chord(stack.database_url, definition, ballots, staged_areas=3)
    stack.env.update(TALLY_RECONCILE_INTERVAL="0.3", TALLY_STUCK_AFTER="5", TALLY_ADVANCE_INTERVAL="3600")
    stack.start_worker("w1")
    stack.start_beat()

    wait_for(lambda: run_status(stack, run_id) in ("COMPLETED", "FAILED"), 60, what="run to end")
    assert run_status(stack, run_id) == "COMPLETED", period_runs(stack.database_url, period_id)
    assert _results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    assert [k for k, _ in _events(stack.database_url, run_id)].count("tally redispatched") == 1
    assert "scheduler.reconcile" in stack.log("w1")


def test_run_still_stuck_after_redispatch_ends_failed(stack):
    definition = f.election("stuck-1", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 300, seed=9)
    election_id, period_id, run_id = _lost_chord(stack.database_url, definition, ballots, staged_areas=2)
    # No worker: the re-dispatched start task waits in the broker and the run makes no progress.
    assert _reconcile(stack, stuck_after=0) == [f"run {run_id} re-dispatched"]
    assert run_status(stack, run_id) == "RUNNING"
    assert _reconcile(stack, stuck_after=0) == [f"run {run_id} failed (stuck)"]
    assert _reconcile(stack, stuck_after=0) == []

    # A worker that turns up late runs the queued start task, which must not revive the run.
    stack.start_worker("w1")
    wait_for(lambda: "tally.start" in stack.log("w1") and "succeeded" in stack.log("w1"), 30, what="start task")
    assert period_runs(stack.database_url, period_id) == [
        (run_id, "FAILED", "stuck: no progress for 0 s after 1 re-dispatch(es)")]
    events = _events(stack.database_url, run_id)
    assert [k for k, _ in events][-2:] == ["tally redispatched", "tally failed"]
    assert "stuck" in events[-1][1]["error"]
    _assert_nothing_published(stack.database_url, election_id, period_id, run_id)


def test_area_task_that_always_fails_ends_failed(stack):
    definition = f.election("poison-1", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 300, seed=2)
    election_id, period_id, run_id = _lost_chord(stack.database_url, definition, ballots, staged_areas=1)
    with stack.session() as session:  # one stored ballot the area task cannot read, on every delivery
        # Storage corruption bypasses the append-only trigger, as only a superuser (or a disk) can.
        session.execute(text("SET LOCAL session_replication_role = replica"))
        # in an area not staged yet: a re-dispatched area task skips the one staged before
        staged = select(m.StagedAreaResult.area_id).where(m.StagedAreaResult.run_id == run_id)
        ballot = session.scalar(select(m.Ballot).where(
            m.Ballot.voting_period_id == period_id, m.Ballot.area_id.not_in(staged)).limit(1))
        ballot.raw = "{not json"
    stack.start_worker("w1")
    assert _reconcile(stack, stuck_after=0) == [f"run {run_id} re-dispatched"]

    wait_for(lambda: run_status(stack, run_id) != "RUNNING", 60, what="run to end")
    (_, status, error), = period_runs(stack.database_url, period_id)
    assert status == "FAILED" and "an area task failed" in error and "JSONDecodeError" in error, error
    events = _events(stack.database_url, run_id)
    assert events[-1][0] == "tally failed" and events[-1][1]["error"] == error
    _assert_nothing_published(stack.database_url, election_id, period_id, run_id)
    assert _reconcile(stack, stuck_after=0) == []


@pytest.mark.slow
def test_a_worker_lost_with_its_task_is_redispatched_at_once_up_to_a_limit(stack):
    """A lease not renewed past TALLY_LEASE_TIMEOUT (its worker died in the task) re-dispatches the run
    whatever TALLY_STUCK_AFTER says; a fresh lease leaves it alone; past MAX_WORKER_LOST re-dispatches
    the run is left to the stuck deadline; an ended run's lease is just removed."""
    from datetime import timedelta

    from scheduler.reconcile import MAX_WORKER_LOST, WORKER_LOST
    from services.lifecycle import leases
    from services.lifecycle.periods import now

    definition = f.election("lease-1", [f.contest("mayor", "instant-runoff", candidates=4)])
    ballots = f.random_ballots(definition, 600, seed=4)
    election_id, period_id, run_id = _lost_chord(stack.database_url, definition, ballots, staged_areas=2)

    def lease(task_id: str, age: float) -> None:
        with session_scope(stack.database_url) as session:
            leases.take(session, task_id, run_id, "tally.process_areas", "w9@gone")
            session.flush()
            session.get(m.TaskLease, task_id).renewed_at = now() - timedelta(seconds=age)

    lease("fresh", 1)
    assert _reconcile(stack, stuck_after=3600) == []
    for n in range(MAX_WORKER_LOST):
        lease(f"lost-{n}", 120)
        assert _reconcile(stack, stuck_after=3600) == [f"run {run_id} re-dispatched (worker lost)"]
    lease("lost-again", 120)
    assert _reconcile(stack, stuck_after=3600) == []  # past the limit: the stuck deadline decides
    (payload, *_) = [p for k, p in _events(stack.database_url, run_id) if k == WORKER_LOST]
    assert payload["reason"] == "worker w9@gone stopped renewing its lease of tally.process_areas for 30 s"

    stack.start_worker("w1")
    wait_for(lambda: run_status(stack, run_id) in ("COMPLETED", "FAILED"), 60, what="run to end")
    assert period_runs(stack.database_url, period_id) == [(run_id, "COMPLETED", None)]
    assert _results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    lease("after-the-end", 120)
    lease("live", 0)  # taken now: "fresh" may have aged past 30 s (and gone as lost) in the steps above
    assert _reconcile(stack, stuck_after=0) == []
    with session_scope(stack.database_url) as session:
        assert "after-the-end" not in session.scalars(select(m.TaskLease.task_id)).all()
        assert session.get(m.TaskLease, "live") is not None  # a live lease is never removed
