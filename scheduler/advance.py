"""Advance elections: close voting periods whose end has passed, and start a tally for each
closed period that has never been tallied. Safe with several beat processes: rows are claimed
with FOR UPDATE SKIP LOCKED, and the run's unique index refuses a second live run.

A period whose run FAILED is not retried automatically: the runbook asks an operator to check
the cause and retry once (`tally run`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from models import entities as m
from services.errors import ServiceError
from services.runs import close_period, now, request_tally


@dataclass
class Plan:
    close: list[tuple[int, int]] = field(default_factory=list)  # (election id, period id)
    tally: list[tuple[int, int]] = field(default_factory=list)
    started_runs: list[int] = field(default_factory=list)


def _due(session: Session, lock: bool):
    query = select(m.VotingPeriod).where(m.VotingPeriod.status == m.PeriodStatus.OPEN, m.VotingPeriod.ends_at <= now())
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query.order_by(m.VotingPeriod.id)).all()


def _untallied(session: Session, lock: bool):
    never_tallied = ~exists().where(m.TallyRun.voting_period_id == m.VotingPeriod.id)
    query = select(m.VotingPeriod).where(m.VotingPeriod.status == m.PeriodStatus.CLOSED, never_tallied)
    if lock:
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query.order_by(m.VotingPeriod.id)).all()


def advance(session: Session, dry_run: bool = False) -> Plan:
    plan = Plan()
    due = _due(session, lock=not dry_run)
    plan.close = [(p.election_id, p.id) for p in due]
    if dry_run:
        plan.tally = [(p.election_id, p.id) for p in _untallied(session, lock=False)] + plan.close
        return plan
    for period in due:
        close_period(session, period, "voting period ended")
    session.flush()
    for period in _untallied(session, lock=True):
        try:
            run, created = request_tally(session, period.election_id, period.id, trigger="schedule", by="scheduler")
        except ServiceError:
            continue  # another beat process got there first
        plan.tally.append((period.election_id, period.id))
        if created:
            plan.started_runs.append(run.id)
    return plan
