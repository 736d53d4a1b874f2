"""Stage 1, plan: a run's contest and area jobs, and what every later stage reads of a contest."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

import counting
from counting.contest import area_operation, contest_operation
from counting.methods import METHODS
from models import entities as m
from models.marks import Decoder

from .. import audit, storage
from ..contests import engine_contest
from ..runs import fail_run, lock_run, now, transition


@dataclass(frozen=True)
class AreaJob:
    contest_id: int
    area_id: int
    keys: tuple[str, str, str, str]  # election, period, contest, area: for Flower and logs


def start(session: Session, run_id: int) -> list[list[AreaJob]] | None:
    """Mark the run RUNNING and plan one job per (contest, area); None when there is nothing to do.
    A contest that cannot be counted fails the run before any work is dispatched."""
    run = lock_run(session, run_id)
    if run is None or run.status not in (m.RunStatus.PENDING, m.RunStatus.RUNNING):
        return None
    election = session.get(m.Election, run.election_id)
    period = session.get(m.VotingPeriod, run.voting_period_id)
    areas = storage.of(session).election_areas(session, election.id)
    plan, fallbacks = [], []
    try:
        for row in election.contests:
            fallbacks += _fallbacks(row, engine_contest(row), areas)
            plan.append(
                [
                    AreaJob(row.id, s.area_id, (election.key, period.name, row.key, areas[s.area_id].key))
                    for s in row.ballot_styles
                ]
            )
    except counting.DefinitionError as exc:
        fail_run(session, run, f"contest {row.key!r}: {exc}")
        return None
    if run.status == m.RunStatus.PENDING:
        for entry in fallbacks:
            audit.append(session, run.election_id, "tally_operation fallback", entry, run_id=run.id)
    running = (m.RunStatus.PENDING, m.RunStatus.RUNNING)
    if not transition(
        session, run, running, m.RunStatus.RUNNING, started_at=run.started_at or now(), heartbeat_at=now(),
        dispatches=run.dispatches + 1, areas_total=sum(len(jobs) for jobs in plan),
    ):
        return None
    return plan


def _fallbacks(row: m.Contest, contest: counting.Contest, areas: dict[int, m.Area]) -> list[dict]:
    """The contest's tally_operation values that fell back to a default, for the audit log."""
    out = []
    op = contest_operation(contest)
    if op.fell_back:
        out.append({"contest": row.key, "scope": "contest", "configured": op.fallback_from, "used": op.value})
    # One event per contest and configured value, listing its areas: thousands of areas
    # without an annotation must not mean thousands of audit events.
    area_fallbacks: dict[tuple[str, str], list[str]] = {}
    for style in row.ballot_styles:
        area_op = area_operation(contest, style.area_annotations)
        if area_op.fell_back:
            area_fallbacks.setdefault((area_op.fallback_from, area_op.value), []).append(areas[style.area_id].key)
    return out + [
        {"contest": row.key, "scope": "area", "areas": keys, "configured": configured, "used": used}
        for (configured, used), keys in area_fallbacks.items()
    ]


def contest_context(session: Session, contest_id: int) -> tuple[m.Contest, counting.Contest, Decoder]:
    """A stored contest, the engine's view of it, and the decoder of its stored marks."""
    row = session.get(m.Contest, contest_id)
    contest = engine_contest(row)
    return row, contest, Decoder([c.key for c in row.candidates], METHODS[contest.method].mark_kind)
