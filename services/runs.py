"""Tally runs: request, status, rollback, failure. One implementation for the API, CLI and beat.

Error messages are the admin API's contract (shared/design/api.md): keep them word for word."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import entities as m

from . import audit, dispatch
from .errors import ServiceError

IN_PROGRESS = "Tally is already in progress"
NOT_CLOSED = "Voting period must be CLOSED to tally results"


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def locate(session: Session, election_id: int, period_id: int, lock: bool = False) -> m.VotingPeriod:
    if session.get(m.Election, election_id) is None:
        raise ServiceError("Invalid electionId")
    query = select(m.VotingPeriod).where(m.VotingPeriod.id == period_id)
    if lock:
        query = query.with_for_update()
    period = session.scalar(query)
    if period is None:
        raise ServiceError("Invalid votingPeriodId")
    if period.election_id != election_id:
        raise ServiceError("VotingPeriod does not belong to election")
    return period


def live_run(session: Session, period_id: int) -> m.TallyRun | None:
    return session.scalar(
        select(m.TallyRun).where(
            m.TallyRun.voting_period_id == period_id, m.TallyRun.status.in_(m.LIVE_RUN_STATUSES)
        )
    )


def latest_run(session: Session, period_id: int) -> m.TallyRun | None:
    return session.scalar(
        select(m.TallyRun).where(m.TallyRun.voting_period_id == period_id).order_by(m.TallyRun.id.desc()).limit(1)
    )


def close_period(session: Session, period: m.VotingPeriod, reason: str) -> None:
    period.status = m.PeriodStatus.CLOSED
    period.closed_at = now()
    election = session.get(m.Election, period.election_id)
    if election.status == "open" and all(p.status == m.PeriodStatus.CLOSED for p in election.periods):
        election.status = "closed"
    audit.append(
        session,
        period.election_id,
        "voting period closed",
        {"voting_period_id": period.id, "period": period.name, "reason": reason, "closed_at": iso(period.closed_at)},
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
) -> tuple[m.TallyRun, bool]:
    """Create a PENDING run and its dispatch (services.dispatch: sent after commit). Returns (run, created); an existing
    COMPLETED run is returned as is (idempotent). The period row lock serialises concurrent
    callers; the partial unique index makes a second live run impossible even so."""
    period = locate(session, election_id, period_id, lock=True)
    existing = live_run(session, period.id)
    if existing is not None:
        if existing.status == m.RunStatus.COMPLETED:
            return existing, False
        raise ServiceError(IN_PROGRESS)
    if period.status != m.PeriodStatus.CLOSED:
        if not force:
            raise ServiceError(NOT_CLOSED)
        close_period(session, period, f"forced by tally request ({by or trigger})")
    run = m.TallyRun(
        election_id=election_id, voting_period_id=period.id, remarks=remarks, started_by=by, trigger=trigger
    )
    session.add(run)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise ServiceError(IN_PROGRESS) from None
    audit.append(
        session, election_id, "tally requested", {"voting_period_id": period.id, "trigger": trigger}, run_id=run.id
    )
    dispatch.enqueue(session, run.id, "requested")
    return run, True


def fail_run(session: Session, run: m.TallyRun, message: str) -> None:
    """End a run FAILED: nothing published, staged partials dropped, period stays CLOSED, retryable."""
    if run.status in (m.RunStatus.COMPLETED, m.RunStatus.FAILED, m.RunStatus.ROLLED_BACK):
        return
    run.status = m.RunStatus.FAILED
    run.error = message
    run.completed_at = now()
    drop_staging(session, run.id)
    audit.append(session, run.election_id, "tally failed", {"error": message}, run_id=run.id)


def drop_staging(session: Session, run_id: int) -> None:
    session.execute(delete(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id))
    session.execute(delete(m.StagedContestResult).where(m.StagedContestResult.run_id == run_id))


def progress(session: Session, run: m.TallyRun) -> dict:
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
    return {"areasDone": int(done), "areasTotal": run.areas_total, "ballotsProcessed": int(ballots)}


def status(session: Session, election_id: int, period_id: int) -> dict:
    locate(session, election_id, period_id)
    run = latest_run(session, period_id)
    if run is None:
        return {
            key: None
            for key in (
                "tallyRunId", "status", "electionId", "votingPeriodId", "startedAt", "completedAt",
                "startedByPersonId", "completedByPersonId", "remarks", "totalPositionsCertified",
                "totalWinnersApplied", "progress",
            )
        } | {"tallyExists": False}
    return {
        "tallyExists": True,
        "tallyRunId": run.id,
        "status": run.status.value,
        "electionId": run.election_id,
        "votingPeriodId": run.voting_period_id,
        "startedAt": iso(run.started_at or run.created_at),
        "completedAt": iso(run.completed_at),
        "startedByPersonId": run.started_by,
        "completedByPersonId": run.completed_by,
        "remarks": run.remarks,
        "totalPositionsCertified": run.positions_tallied,
        "totalWinnersApplied": run.winners_applied,
        "error": run.error,
        "progress": progress(session, run),
    }


def rollback(session: Session, election_id: int, period_id: int, reason: str | None, by: str | None = None) -> dict:
    """Remove winner assignments and mark the run ROLLED_BACK; results and audit history stay."""
    period = locate(session, election_id, period_id, lock=True)
    run = latest_run(session, period.id)
    if run is None:
        raise ServiceError("No tally found for this election and voting period")
    if run.status != m.RunStatus.COMPLETED:
        raise ServiceError("Can only rollback COMPLETED tallies")
    removed = session.execute(delete(m.WinnerAssignment).where(m.WinnerAssignment.run_id == run.id)).rowcount
    run.status = m.RunStatus.ROLLED_BACK
    run.rolled_back_at = now()
    run.rollback_reason = reason
    election = session.get(m.Election, election_id)
    election.status = "closed"
    audit.append(
        session,
        election_id,
        "tally rolled back",
        {"voting_period_id": period.id, "reason": reason, "winners_removed": removed, "by": by},
        run_id=run.id,
    )
    return {
        "tallyRunId": run.id,
        "status": run.status.value,
        "winnersRemoved": removed,
        "rolledBackAt": iso(run.rolled_back_at),
        "message": "Tally rolled back successfully",
    }
