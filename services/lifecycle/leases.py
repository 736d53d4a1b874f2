"""Leases of the tally tasks running now (models.TaskLease): taken when a task starts, renewed while
it runs, dropped when it ends. Each in a transaction of its own, apart from the task's: a lease must
be seen by the reconciler while the task's own transaction is still open."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models import entities as m
from services.lifecycle.periods import now


def take(session: Session, task_id: str, run_id: int, task: str, worker: str) -> None:
    """Hold (or, for a task run again after a retry or a redelivery, take over) the task's lease."""
    lease = session.get(m.TaskLease, task_id)
    if lease is None:
        session.add(m.TaskLease(task_id=task_id, run_id=run_id, task=task, worker=worker, renewed_at=now()))
    else:
        lease.run_id, lease.task, lease.worker, lease.renewed_at = run_id, task, worker, now()


def renew(session: Session, task_id: str) -> None:
    session.execute(update(m.TaskLease).where(m.TaskLease.task_id == task_id).values(renewed_at=now()))


def drop(session: Session, task_id: str) -> None:
    session.execute(delete(m.TaskLease).where(m.TaskLease.task_id == task_id))


def lost(session: Session, timeout: float) -> list[m.TaskLease]:
    """Leases not renewed for `timeout` seconds: their workers died while running them."""
    deadline = now() - timedelta(seconds=timeout)
    return list(session.scalars(
        select(m.TaskLease).where(m.TaskLease.renewed_at < deadline).order_by(m.TaskLease.run_id, m.TaskLease.task_id)
    ))
