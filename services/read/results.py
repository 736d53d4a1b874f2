"""Reading published results: only what a COMPLETED run committed is ever shown."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m

from services.elections import find_election


def completed_runs(session: Session, election_id: int) -> list[m.TallyRun]:
    return session.scalars(
        select(m.TallyRun)
        .where(m.TallyRun.election_id == election_id, m.TallyRun.status == m.RunStatus.COMPLETED)
        .order_by(m.TallyRun.voting_period_id)
    ).all()


def published(session: Session, ref: str | int) -> dict:
    """The election's published results: per period, per contest, with areas and subtrees."""
    election = find_election(session, ref)
    contests = {c.id: c for c in election.contests}
    areas = {a.id: a.key for a in election.areas}
    periods = {p.id: p.name for p in election.periods}
    out = {"election": election.key, "name": election.name, "status": election.status.value, "tallies": []}
    for run in completed_runs(session, election.id):
        rows = session.scalars(
            select(m.CertifiedResult).where(m.CertifiedResult.run_id == run.id).order_by(m.CertifiedResult.id)
        ).all()
        by_contest: dict[int, dict] = {}
        for row in rows:
            entry = by_contest.setdefault(row.contest_id, {"contest": contests[row.contest_id].key, "areas": {}, "subtrees": {}})
            if row.scope == m.ResultScope.CONTEST:
                entry["result"] = row.result
            elif row.scope == m.ResultScope.AREA:
                entry["areas"][areas[row.area_id]] = row.result
            else:
                entry["subtrees"][areas[row.area_id]] = row.result
        out["tallies"].append(
            {
                "tally_run_id": run.id,
                "voting_period": periods[run.voting_period_id],
                "contests": [by_contest[c] for c in contests if c in by_contest],
            }
        )
    return out
