"""Tally runs: their status changes (each a compare-and-set), failure and status. Requesting and
rolling back a tally are commands the API, the CLI and beat share (services.lifecycle.commands).

Error messages are the admin API's contract (shared/design/api.md): keep them word for word."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import entities as m

from services import audit, storage

from services.lifecycle.periods import latest_run, locate, now

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
    waiting_for: dict | None = None  # WAITING: the tie an official must decide (services.lifecycle.ties)


@dataclass(frozen=True)
class RolledBack:
    run_id: int
    status: str
    winners_removed: int
    rolled_back_at: datetime


def progress(session: Session, run: m.TallyRun) -> Progress:
    """Areas done and ballots read, derived from the staged rows (so a redelivered task never
    counts twice), or from the run's totals once it is over."""
    if run.status in (m.RunStatus.PENDING, m.RunStatus.RUNNING, m.RunStatus.WAITING):
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
        waiting_for=run.waiting_for,
    )


