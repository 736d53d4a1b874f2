"""Tally runs: request, status, rollback, failure. One implementation for the API, CLI and beat (the
periods they belong to, and the clock: services.lifecycle.periods).

Error messages are the admin API's contract (shared/design/api.md): keep them word for word."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import entities as m

from services import audit, storage

from services.lifecycle import batches, dispatch, sealing
from services.errors import ServiceError
from services.lifecycle.periods import latest_run, live_run, locate, now, refresh_election_status

IN_PROGRESS = "Tally is already in progress"
NOT_CLOSED = "Voting period must be CLOSED to tally results"
NOT_SEALED = "Voting period ballots must be sealed to tally results (tally seal / POST .../seal, or force)"
EMPTY = "Voting period has no ballots to tally (allowEmpty / --allow-empty publishes no winners)"


def transition(session: Session, run: m.TallyRun, allowed: tuple[m.RunStatus, ...], to: m.RunStatus, **values) -> bool:
    """Compare-and-set of a run's status: `UPDATE ... WHERE id = :id AND status IN (allowed)`,
    which takes the run's row lock and, under PostgreSQL's read committed, re-reads a row another
    transaction changed meanwhile before deciding. False (nothing changed) when the run had
    already moved on: one transition can never overwrite another, whatever the callers read."""
    session.flush()
    t = m.TallyRun.__table__
    changed = session.execute(
        update(t)
        .where(t.c.id == run.id, t.c.status.in_([s.value for s in allowed]))
        .values(status=to.value, **values)
    ).rowcount
    session.refresh(run)  # the ORM object follows the row, whichever way it went
    return changed == 1


def lock_run(session: Session, run_id: int) -> m.TallyRun | None:
    """The run, re-read under its row lock (a transition committed meanwhile is seen)."""
    return session.scalar(
        select(m.TallyRun).where(m.TallyRun.id == run_id).with_for_update().execution_options(populate_existing=True)
    )


def request_tally(
    session: Session,
    election_id: int,
    period_id: int,
    *,
    force: bool = False,
    remarks: str | None = None,
    by: str | None = None,
    trigger: str = "api",
    allow_empty: bool = False,
) -> tuple[m.TallyRun, bool]:
    """Create a PENDING run and its dispatch (services.lifecycle.dispatch: sent after commit). Returns (run, created); an existing
    COMPLETED run is returned as is (idempotent). The period row lock serialises concurrent
    callers; the partial unique index makes a second live run impossible even so. Only a sealed
    period is tallied (`force` closes and seals it first), and one without ballots only when
    `allow_empty` says so."""
    period = locate(session, election_id, period_id, lock=True)
    existing = live_run(session, period.id)
    if existing is not None:
        if existing.status == m.RunStatus.COMPLETED:
            return existing, False
        raise ServiceError(IN_PROGRESS)
    if period.status != m.PeriodStatus.CLOSED:
        if not force:
            raise ServiceError(NOT_CLOSED)
        sealing.close(session, period, f"forced by tally request ({by or trigger})")
    if period.sealed_at is None:  # a manual period: force seals it too, recorded like any seal
        if not force:
            raise ServiceError(NOT_SEALED)
        sealing.seal_period(session, period, f"forced by tally request ({by or trigger})")
    if not allow_empty and batches.counted_ballots(session, period) == 0:
        raise ServiceError(EMPTY)
    run = m.TallyRun(
        election_id=election_id, voting_period_id=period.id, remarks=remarks, started_by=by, trigger=trigger,
        allow_empty=allow_empty,
    )
    session.add(run)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ServiceError(IN_PROGRESS) from None
    audit.append(
        session, election_id, "tally requested",
        {"voting_period_id": period.id, "trigger": trigger, **({"allow_empty": True} if allow_empty else {})},
        run_id=run.id,
    )
    dispatch.enqueue(session, run.id, "requested")
    return run, True


def fail_run(session: Session, run: m.TallyRun | int, message: str) -> bool:
    """End a PENDING or RUNNING run FAILED: nothing published, staged partials dropped, period
    stays CLOSED, retryable. Takes the run's row lock first, so a finalize committing meanwhile is
    waited for and seen: a failure never overwrites COMPLETED (or anything else). False if the
    run had already ended."""
    run = lock_run(session, run if isinstance(run, int) else run.id)
    if run is None or not transition(
        session, run, (m.RunStatus.PENDING, m.RunStatus.RUNNING), m.RunStatus.FAILED, error=message, completed_at=now()
    ):
        return False
    storage.of(session).drop_staging(session, run.id)
    audit.append(session, run.election_id, "tally failed", {"error": message}, run_id=run.id)
    return True


@dataclass(frozen=True)
class Progress:
    areas_done: int
    areas_total: int | None
    ballots_processed: int


@dataclass(frozen=True)
class RunState:
    """A period's latest run as `status` reads it (services.read.payloads shapes it for the API and the CLI)."""

    run_id: int
    status: str
    election_id: int
    voting_period_id: int
    started_at: datetime | None  # when a worker started it, else when it was requested
    completed_at: datetime | None
    started_by: str | None
    completed_by: str | None
    remarks: str | None
    positions_tallied: int | None
    winners_applied: int | None
    error: str | None
    progress: Progress


@dataclass(frozen=True)
class RolledBack:
    run_id: int
    status: str
    winners_removed: int
    rolled_back_at: datetime


def progress(session: Session, run: m.TallyRun) -> Progress:
    """Areas done and ballots read, derived from the staged rows (so a redelivered task never
    counts twice), or from the run's totals once it is over."""
    if run.status in (m.RunStatus.PENDING, m.RunStatus.RUNNING):
        done, ballots = session.execute(
            select(func.count(), func.coalesce(func.sum(m.StagedAreaResult.ballots_read), 0)).where(
                m.StagedAreaResult.run_id == run.id
            )
        ).one()
    else:
        done, ballots = run.areas_done, run.ballots_processed
    return Progress(areas_done=int(done), areas_total=run.areas_total, ballots_processed=int(ballots))


def status(session: Session, election_id: int, period_id: int) -> RunState | None:
    """The period's latest run; None if it was never tallied."""
    locate(session, election_id, period_id)
    run = latest_run(session, period_id)
    if run is None:
        return None
    return RunState(
        run_id=run.id, status=run.status.value, election_id=run.election_id, voting_period_id=run.voting_period_id,
        started_at=run.started_at or run.created_at, completed_at=run.completed_at, started_by=run.started_by,
        completed_by=run.completed_by, remarks=run.remarks, positions_tallied=run.positions_tallied,
        winners_applied=run.winners_applied, error=run.error, progress=progress(session, run),
    )


def rollback(
    session: Session, election_id: int, period_id: int, reason: str | None, by: str | None = None
) -> RolledBack:
    """Remove winner assignments and mark the run ROLLED_BACK; results and audit history stay."""
    period = locate(session, election_id, period_id, lock=True)
    run = latest_run(session, period.id)
    if run is None:
        raise ServiceError("No tally found for this election and voting period")
    if run.status != m.RunStatus.COMPLETED:
        raise ServiceError("Can only rollback COMPLETED tallies")
    if not transition(
        session, run, (m.RunStatus.COMPLETED,), m.RunStatus.ROLLED_BACK, rolled_back_at=now(), rollback_reason=reason
    ):
        raise ServiceError("Can only rollback COMPLETED tallies")
    removed = session.execute(delete(m.WinnerAssignment).where(m.WinnerAssignment.run_id == run.id)).rowcount
    refresh_election_status(session, election_id)
    audit.append(
        session,
        election_id,
        "tally rolled back",
        {"voting_period_id": period.id, "reason": reason, "winners_removed": removed, "by": by},
        run_id=run.id,
    )
    return RolledBack(run_id=run.id, status=run.status.value, winners_removed=removed, rolled_back_at=run.rolled_back_at)
