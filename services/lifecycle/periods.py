"""Voting periods and the clock: the time as every record writes it, finding a period (locked when it is
about to change), its runs, closing it, and the election's status, which follows all its periods.
What batches, sealing and runs share, so that none of them calls back into another."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from models import entities as m

from services import audit
from services.errors import ServiceError


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return m.aware(value).astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def refresh_election_status(session: Session, election_id: int) -> m.ElectionStatus:
    """An election reads `tallied` while any of its periods has published results, else `open`
    while any period is open, else `closed`: it follows all its periods, not the last one touched."""
    session.flush()
    election = session.get(m.Election, election_id)
    if session.scalar(
        select(exists().where(m.TallyRun.election_id == election_id, m.TallyRun.status == m.RunStatus.COMPLETED))
    ):
        election.status = m.ElectionStatus.TALLIED
    elif session.scalar(
        select(exists().where(m.VotingPeriod.election_id == election_id, m.VotingPeriod.status == m.PeriodStatus.OPEN))
    ):
        election.status = m.ElectionStatus.OPEN
    else:
        election.status = m.ElectionStatus.CLOSED
    return election.status


def close_period(session: Session, period: m.VotingPeriod, reason: str) -> None:
    period.status = m.PeriodStatus.CLOSED
    period.closed_at = now()
    refresh_election_status(session, period.election_id)
    audit.append(
        session,
        period.election_id,
        "voting period closed",
        {"voting_period_id": period.id, "period": period.name, "reason": reason, "closed_at": iso(period.closed_at)},
    )
