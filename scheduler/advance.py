"""Advance elections: close voting periods whose end has passed (sealing the at-close ones), and
start a tally for each sealed period with ballots that has never been tallied. A period waiting
for its manual seal, or sealed without ballots, is never tallied automatically: `--dry-run` lists
it as waiting, with why. Safe with several beat processes: rows are claimed with FOR UPDATE SKIP
LOCKED, and the run's unique index refuses a second live run.

Each period is handled in its own savepoint: a row that cannot be handled (a corrupt date, say)
is logged and its error kept on the period (`voting_periods.advance_error`), and every other
period of every election still advances. Only ids are read before the savepoint, so even a row
the driver cannot convert is confined to its own.

A period whose run FAILED is not retried automatically: the runbook asks an operator to check
the cause and retry once (`tally run`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.orm import Session

from models import entities as m
from services.lifecycle import sealing
from services.errors import ServiceError
from services.lifecycle.periods import now
from services.lifecycle.commands import RequestTally

log = logging.getLogger("tally")


@dataclass
class Plan:
    close: list[tuple[int, int]] = field(default_factory=list)  # (election id, period id)
    tally: list[tuple[int, int]] = field(default_factory=list)
    started_runs: list[int] = field(default_factory=list)
    errors: list[tuple[int, int, str]] = field(default_factory=list)  # (election id, period id, error)
    waiting: list[tuple[int, int, str]] = field(default_factory=list)  # (election id, period id, why)


WAIT_SEAL = "ballots not sealed yet (seal: manual): tally seal {election} {period}"
WAIT_OPEN = "open until {ends} (closed by advance once it has ended; tally run {election} {period} --force closes it now)"
WAIT_EMPTY = "sealed without ballots: never tallied automatically (tally run {election} {period} --allow-empty)"


def _due(session: Session, lock: bool) -> list[tuple[int, int]]:
    p = m.VotingPeriod
    query = select(p.election_id, p.id).where(p.status == m.PeriodStatus.OPEN, p.ends_at <= now())
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [tuple(row) for row in session.execute(query.order_by(p.id))]


def _counted():
    """A period's ballots that count (services.lifecycle.batches.counted_ballots), as a column."""
    p, b = m.VotingPeriod, m.LoadBatch
    voided = (
        select(func.coalesce(func.sum(b.records), 0))
        .where(b.voting_period_id == p.id, b.voided_at.is_not(None))
        .scalar_subquery()
    )
    return p.ballots_count - voided


def _untallied(session: Session, lock: bool, ready: bool = True) -> list[tuple]:
    """CLOSED periods never tallied: the sealed ones with ballots (`ready`), or the others with
    (sealed, counted ballots)."""
    p = m.VotingPeriod
    never_tallied = ~exists().where(m.TallyRun.voting_period_id == p.id)
    sealed_with_ballots = and_(p.sealed_at.is_not(None), _counted() > 0)
    query = select(p.election_id, p.id).where(p.status == m.PeriodStatus.CLOSED, never_tallied)
    if ready:
        query = query.where(sealed_with_ballots)
    else:
        query = select(p.election_id, p.id, p.sealed_at.is_not(None), _counted()).where(
            p.status == m.PeriodStatus.CLOSED, never_tallied, ~sealed_with_ballots
        )
    if lock:
        query = query.with_for_update(skip_locked=True)
    return [tuple(row) for row in session.execute(query.order_by(p.id))]


def _dry_run(session: Session, plan: Plan) -> Plan:
    """What advance would do now, and why the other untallied periods wait."""
    p = m.VotingPeriod
    due = set(plan.close)
    modes = dict(session.execute(select(p.id, p.seal_mode).where(p.id.in_([i for _, i in due]))).all())
    counted = dict(session.execute(select(p.id, _counted()).where(p.id.in_([i for _, i in due]))).all())
    plan.tally = _untallied(session, lock=False)
    waiting = [(e, i, sealed, n) for e, i, sealed, n in _untallied(session, lock=False, ready=False)]
    waiting += [(e, i, modes[i] == m.SEAL_AT_CLOSE, counted[i]) for e, i in plan.close]
    for election_id, period_id, sealed, ballots in sorted(waiting):
        if sealed and ballots > 0:
            plan.tally.append((election_id, period_id))
        else:
            why = WAIT_EMPTY if sealed else WAIT_SEAL
            plan.waiting.append((election_id, period_id, why.format(election=election_id, period=period_id)))
    still_open = session.execute(
        select(p.election_id, p.id, p.ends_at).where(p.status == m.PeriodStatus.OPEN, p.ends_at > now()).order_by(p.id)
    )
    for election_id, period_id, ends in still_open:
        ends_text = m.aware(ends).isoformat(timespec="seconds")
        plan.waiting.append((election_id, period_id, WAIT_OPEN.format(ends=ends_text, election=election_id, period=period_id)))
    return plan


def advance(session: Session, dry_run: bool = False) -> Plan:
    plan = Plan()
    due = _due(session, lock=not dry_run)
    plan.close = list(due)
    if dry_run:
        return _dry_run(session, plan)
    closed = [ids for ids in due if _each(session, plan, ids, _close)]
    plan.close = closed
    session.flush()
    for ids in _untallied(session, lock=True):
        _each(session, plan, ids, _tally)
    return plan


def _close(session: Session, plan: Plan, period_id: int) -> None:
    sealing.close(session, session.get(m.VotingPeriod, period_id), "voting period ended")


def _tally(session: Session, plan: Plan, period_id: int) -> None:
    period = session.get(m.VotingPeriod, period_id)
    try:
        run, created = RequestTally(period.election_id, period.id, trigger="schedule", by="scheduler").run(session)
    except ServiceError:
        return  # another beat process got there first
    plan.tally.append((period.election_id, period.id))
    if created:
        plan.started_runs.append(run.id)


def _each(session: Session, plan: Plan, ids: tuple[int, int], step) -> bool:
    """One period's step in its own savepoint; an error is logged, kept on the period, and
    stops nothing else. True when the step went through."""
    election_id, period_id = ids
    try:
        with session.begin_nested():
            step(session, plan, period_id)
    except Exception as exc:  # any row-level failure: the other periods must still advance
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:2000]
        log.error("advance: election %s period %s: %s", election_id, period_id, message)
        plan.errors.append((election_id, period_id, message))
        session.execute(update(m.VotingPeriod).where(m.VotingPeriod.id == period_id).values(advance_error=message))
        return False
    session.execute(
        update(m.VotingPeriod)
        .where(m.VotingPeriod.id == period_id, m.VotingPeriod.advance_error.is_not(None))
        .values(advance_error=None)
    )
    return True
