"""What the results site shows, gathered from committed data only: the published results (as
results.json gives them), the election's periods and tally history, its areas and contests, and
the public files the site points to with their SHA-256 (report.site renders it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m

from services.elections import find_election
from services.read.exports import published_runs
from services.read.results import published


def _when(value) -> str | None:
    return m.aware(value).isoformat(timespec="seconds") if value else None


def _period_state(period: m.VotingPeriod) -> str:
    if period.sealed_at:
        return "SEALED"
    return period.status.value


def site_document(session: Session, ref: str | int, files: list[dict]) -> dict:
    """The site's content; `files`: the public files it links to, each {name, href, bytes, sha256}.
    NotFound when nothing is published (or rolled back) yet."""
    election = find_election(session, ref)
    published_runs(session, election)
    runs = session.scalars(
        select(m.TallyRun).where(
            m.TallyRun.election_id == election.id,
            m.TallyRun.status.in_((m.RunStatus.COMPLETED, m.RunStatus.ROLLED_BACK)),
        ).order_by(m.TallyRun.id)
    ).all()
    periods = {p.id: p for p in election.periods}
    return {
        "election": {"key": election.key, "name": election.name, "status": election.status.value},
        "periods": [
            {"name": p.name, "state": _period_state(p), "starts_at": _when(p.starts_at), "ends_at": _when(p.ends_at),
             "sealed_at": _when(p.sealed_at), "ballots": p.ballots_count}
            for p in election.periods
        ],
        "runs": [
            {"id": r.id, "period": periods[r.voting_period_id].name, "status": r.status.value,
             "completed_at": _when(r.completed_at), "rolled_back_at": _when(r.rolled_back_at),
             "rollback_reason": r.rollback_reason}
            for r in runs
        ],
        "areas": [{"id": a.key, "name": a.name, "parent": a.parent.key if a.parent else None} for a in election.areas],
        "contests": [
            {"id": c.key, "name": c.name, "method": c.method, "seats": c.seats,
             "candidates": [{"id": k.key, "name": k.name} for k in c.candidates]}
            for c in election.contests
        ],
        "results": published(session, election.id),
        "files": files,
    }
