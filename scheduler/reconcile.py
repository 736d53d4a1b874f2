"""The reconciler: a run whose worker died while running one of its tasks (the task's lease expired,
tasks.leases) is re-dispatched at once; a run PENDING/RUNNING with no progress past TALLY_STUCK_AFTER seconds is
re-dispatched once (every step is idempotent, so repeating finished work changes nothing); if it
is still stuck a deadline after that, it is failed (nothing published, the period stays CLOSED).

Re-dispatches are counted from the audit log ("tally redispatched" events of the run), not from
`run.dispatches`: that counter only moves when a `tally.start` task actually runs, so a re-dispatch
that is itself lost (no worker, broker trouble) would otherwise be repeated forever. A run whose
dispatch is still in the outbox (services.lifecycle.dispatch: the broker was down) is waiting, not stuck."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import entities as m
from services import audit
from services.lifecycle import dispatch, leases
from services.lifecycle.periods import now
from services.lifecycle.runs import fail_run
from config.settings import load_settings

MAX_REDISPATCHES = 1
REDISPATCHED = "tally redispatched"
# A worker lost while it ran a task of the run (its lease expired, tasks.leases): re-dispatched at once,
# up to this many times; past them, the run is left to the stuck deadline above.
MAX_WORKER_LOST = 3
WORKER_LOST = "tally redispatched: worker lost"


def redispatches(session: Session, run_id: int, kind: str = REDISPATCHED) -> int:
    return session.scalar(
        select(func.count())
        .select_from(m.AuditEvent)
        .where(m.AuditEvent.run_id == run_id, m.AuditEvent.kind == kind)
    )


def last_staged(session: Session, run_id: int):
    """When an area task of the run last staged its partial: area tasks report progress there
    rather than on the run's row, which every one of them would otherwise queue to update."""
    return session.scalar(select(func.max(m.StagedAreaResult.staged_at)).where(m.StagedAreaResult.run_id == run_id))


def reconcile(session: Session, stuck_after: int | None = None) -> list[str]:
    """One pass over live runs; returns a line per action taken. Runs locked by a task that is
    writing to them right now (finalize, aggregate, a heartbeat) are skipped: they are alive."""
    settings = load_settings()
    limit = stuck_after if stuck_after is not None else settings.stuck_after
    deadline = now() - timedelta(seconds=limit)
    actions = []
    expired = _expired_leases(session, settings.lease_timeout)
    runs = session.scalars(
        select(m.TallyRun)
        .where(m.TallyRun.status.in_((m.RunStatus.PENDING, m.RunStatus.RUNNING)))
        .order_by(m.TallyRun.id)
        .with_for_update(skip_locked=True)
    ).all()
    for run in runs:
        if dispatch.unsent(session, run.id):
            continue  # waiting for the broker, not stuck: the outbox sends it once the broker is back
        if run.id in expired and _worker_lost(session, run, expired[run.id], settings.lease_timeout):
            actions.append(f"run {run.id} re-dispatched (worker lost)")
            continue
        last = max(
            m.aware(run.heartbeat_at or run.started_at or run.created_at),
            m.aware(last_staged(session, run.id)) or deadline,
            m.aware(dispatch.last_sent(session, run.id)) or deadline,
        )
        if last > deadline:
            continue
        done = redispatches(session, run.id)
        if done >= MAX_REDISPATCHES:
            fail_run(session, run, f"stuck: no progress for {limit} s after {done} re-dispatch(es)")
            actions.append(f"run {run.id} failed (stuck)")
            continue
        run.heartbeat_at = now()
        audit.append(
            session,
            run.election_id,
            REDISPATCHED,
            {"reason": f"no progress for {limit} s", "status": run.status.value, "dispatches": run.dispatches},
            run_id=run.id,
        )
        dispatch.enqueue(session, run.id, REDISPATCHED)
        actions.append(f"run {run.id} re-dispatched")
    return actions


def _expired_leases(session: Session, timeout: float) -> dict[int, list[m.TaskLease]]:
    """The expired leases of live runs, by run; those of runs that have ended are removed."""
    by_run: dict[int, list[m.TaskLease]] = {}
    for lease in leases.lost(session, timeout):
        by_run.setdefault(lease.run_id, []).append(lease)
    ended = session.scalars(select(m.TallyRun.id).where(
        m.TallyRun.id.in_(by_run), m.TallyRun.status.not_in((m.RunStatus.PENDING, m.RunStatus.RUNNING)))).all()
    for run_id in ended:
        for lease in by_run.pop(run_id):
            session.delete(lease)
    return by_run


def _worker_lost(session: Session, run: m.TallyRun, lost: list[m.TaskLease], timeout: float) -> bool:
    """Re-dispatch a run whose worker died in one of its tasks (the tasks' steps are idempotent: what
    was done stays done, what the lost worker held or had reserved is sent again)."""
    for lease in lost:
        session.delete(lease)
    if redispatches(session, run.id, WORKER_LOST) >= MAX_WORKER_LOST:
        return False
    first = lost[0]
    run.heartbeat_at = now()
    audit.append(
        session,
        run.election_id,
        WORKER_LOST,
        {"reason": f"worker {first.worker or '?'} stopped renewing its lease of {first.task} for {timeout:g} s",
         "tasks": [lease.task for lease in lost], "status": run.status.value},
        run_id=run.id,
    )
    dispatch.enqueue(session, run.id, WORKER_LOST)
    return True
