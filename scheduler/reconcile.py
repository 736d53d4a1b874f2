"""The reconciler: a run RUNNING with no progress past TALLY_STUCK_AFTER seconds is re-dispatched
once (every step is idempotent, so repeating finished work changes nothing), then failed."""

from __future__ import annotations

from datetime import timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m
from models.db import after_commit
from services import audit
from services.runs import dispatch, fail_run, now
from worker.settings import load_settings

MAX_DISPATCHES = 2


def _aware(value):
    return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)


def reconcile(session: Session, stuck_after: int | None = None) -> list[str]:
    limit = stuck_after if stuck_after is not None else load_settings().stuck_after
    deadline = now() - timedelta(seconds=limit)
    actions = []
    runs = session.scalars(
        select(m.TallyRun)
        .where(m.TallyRun.status.in_((m.RunStatus.PENDING, m.RunStatus.RUNNING)))
        .with_for_update(skip_locked=True)
    ).all()
    for run in runs:
        last = _aware(run.heartbeat_at or run.created_at)
        if last > deadline:
            continue
        if run.dispatches >= MAX_DISPATCHES:
            fail_run(session, run, f"stuck: no progress for {limit} s after {run.dispatches} dispatches")
            actions.append(f"run {run.id} failed (stuck)")
            continue
        run.heartbeat_at = now()
        audit.append(session, run.election_id, "tally redispatched", {"reason": f"no progress for {limit} s"}, run_id=run.id)
        run_id = run.id
        after_commit(session, lambda run_id=run_id: dispatch(run_id))
        actions.append(f"run {run.id} re-dispatched")
    return actions
