"""Stage 1, plan: a run's contest and area jobs, and what every later stage reads of a contest."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

import counting
from config.settings import load_settings
from counting.definition import area_operation, contest_operation
from counting.methods import METHODS
from models import entities as m
from models.marks import Decoder

from services import audit, storage
from services.contests import engine_contest
from services.lifecycle.periods import now
from services.lifecycle.runs import fail_run, lock_run, transition


@dataclass(frozen=True)
class AreaBatch:
    """One area task message: areas of one contest, in id order, each counted and staged on its own.
    Small areas share a message (its Celery cost is a task's, several times a small area's count);
    a large one has its own (services.pipeline.area.process_areas)."""

    contest_id: int
    area_ids: tuple[int, ...]
    # election, period, contest, and the area ("a1") or the areas ("a1..a9 (9 areas)"): for Flower and logs
    keys: tuple[str, str, str, str]


def batch_budget(ballots: int, at_least: int, messages: int) -> int:
    """The ballots an area task message of a contest of `ballots` takes: `at_least`
    (TALLY_BATCH_BALLOTS), or as many as spread the contest over about `messages` messages
    (TALLY_BATCH_MESSAGES) when that is more. Each message has a fixed cost (Celery's, a transaction,
    a grouped read and a staging statement): 10M ballots in 200 messages took 17.7 s here, in 50
    messages 15.0 s; a small contest keeps messages small enough to spread over the workers."""
    return max(at_least, -(-ballots // messages))


def area_batches(sizes: Iterable[tuple[int, int]], budget: int, max_areas: int) -> list[list[int]]:
    """Areas, given as (area id, ballots), in batches: in id order, a batch takes areas until it
    reaches `budget` ballots or `max_areas` areas, and an area of `budget` ballots or more is a batch
    of its own. The same sizes give the same batches, in whatever order they come."""
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for area_id, ballots in sorted(sizes):
        if current and (ballots >= budget or total + ballots > budget or total >= budget or len(current) >= max_areas):
            batches.append(current)
            current, total = [], 0
        current.append(area_id)
        total += ballots
    if current:
        batches.append(current)
    return batches


def start(session: Session, run_id: int) -> list[list[AreaBatch]] | None:
    """Mark the run RUNNING and plan its area tasks: per contest, its areas in batches sized by their
    stored ballots (TALLY_BATCH_BALLOTS, TALLY_BATCH_AREAS, TALLY_BATCH_MESSAGES); None when there is nothing to do. A
    contest that cannot be counted fails the run before any work is dispatched."""
    run = lock_run(session, run_id)
    if run is None or run.status not in (m.RunStatus.PENDING, m.RunStatus.RUNNING):
        return None
    election = session.get(m.Election, run.election_id)
    period = session.get(m.VotingPeriod, run.voting_period_id)
    store = storage.of(session)
    areas = store.election_areas(session, election.id)
    ballots = store.ballot_counts(session, period.id)
    settings = load_settings()
    plan, fallbacks = [], []
    try:
        for row in election.contests:
            fallbacks += _fallbacks(row, engine_contest(row), areas)
            sizes = [(s.area_id, ballots.get((row.id, s.area_id), 0)) for s in row.ballot_styles]
            keys = (election.key, period.name, row.key)
            budget = batch_budget(sum(n for _, n in sizes), settings.batch_ballots, settings.batch_messages)
            plan.append([AreaBatch(row.id, tuple(ids), (*keys, _areas_key(ids, areas)))
                         for ids in area_batches(sizes, budget, settings.batch_areas)])
    except counting.DefinitionError as exc:
        fail_run(session, run, f"contest {row.key!r}: {exc}")
        return None
    if run.status == m.RunStatus.PENDING and run.started_at is None:  # not a run going on after a tie decision
        for entry in fallbacks:
            audit.append(session, run.election_id, "tally_operation fallback", entry, run_id=run.id)
    running = (m.RunStatus.PENDING, m.RunStatus.RUNNING)
    if not transition(
        session, run, running, m.RunStatus.RUNNING, started_at=run.started_at or now(), heartbeat_at=now(),
        dispatches=run.dispatches + 1, areas_total=sum(len(b.area_ids) for batches in plan for b in batches),
    ):
        return None
    return plan


def _areas_key(ids: list[int], areas: dict[int, m.Area]) -> str:
    """How logs and Flower name a batch's areas: "a1", or "a1..a9 (9 areas)" (first..last by id)."""
    first = areas[ids[0]].key
    return first if len(ids) == 1 else f"{first}..{areas[ids[-1]].key} ({len(ids)} areas)"


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
