"""Stage 2, area: one area's ballots read in one grouped pass, counted, and its partial staged.

`process_area` is the area task's whole job; `count_and_stage` does one area given its contest's
plan (loaded once per worker process), so several areas can be done in a loop; `staged_area` is the
counting itself, with no database."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

import counting
from counting.contest import area_operation
from counting.methods import METHODS
from counting.numbers import exact_json
from counting.result import ContestResult
from counting.vocabulary import TallyOperation
from models import entities as m
from models.marks import pack_multiset

from .. import batches, storage
from ..area_count import StoredBallotJudge, count_area
from ..runs import now
from .plan import contest_context


@dataclass(frozen=True)
class AreaSpec:
    weight: int
    census: int
    operation: str  # the area's tally_operation


@dataclass(frozen=True)
class ContestPlan:
    """What every area of one contest in one run needs besides its ballots."""

    run_id: int
    contest_id: int
    period_id: int
    contest: counting.Contest
    judge: StoredBallotJudge
    areas: dict[int, AreaSpec]
    voided: tuple[int, ...]  # batches voided before the period was sealed: their ballots do not count


# Per worker process. A run's definitions are frozen while it runs (ballots too), so the plan is
# read once per (run, contest) instead of once per area, and each distinct ballot judged once.
_plans: dict[tuple[object, int, int], ContestPlan] = {}
_PLANS_KEPT = 16


def contest_plan(session: Session, run_id: int, contest_id: int) -> ContestPlan | None:
    """The contest's plan for this run, from this process's cache or read now; None if no such run."""
    key = (session.get_bind(), run_id, contest_id)  # ids repeat across databases (one engine each)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    run = session.get(m.TallyRun, run_id)
    if run is None:
        return None
    row, contest, decoder = contest_context(session, contest_id)
    every_area = storage.of(session).election_areas(session, run.election_id)
    areas = {
        s.area_id: AreaSpec(every_area[s.area_id].weight, every_area[s.area_id].census,
                            area_operation(contest, s.area_annotations).value)
        for s in row.ballot_styles
    }
    voided = tuple(b.id for b in batches.voided(session, run.voting_period_id))
    judge = StoredBallotJudge(contest, decoder)
    plan = ContestPlan(run_id, contest_id, run.voting_period_id, contest, judge, areas, voided)
    if len(_plans) >= _PLANS_KEPT:
        _plans.clear()
    _plans[key] = plan
    return plan


def process_area(session: Session, run_id: int, contest_id: int, area_id: int) -> int:
    """Count and stage one area. Returns the number of ballot records read (0 when the run is no
    longer running)."""
    plan = contest_plan(session, run_id, contest_id)
    return 0 if plan is None else count_and_stage(session, plan, area_id)


def count_and_stage(session: Session, plan: ContestPlan, area_id: int) -> int:
    """Read one area's grouped ballots, count them and stage the partial (only while the run is
    RUNNING). Returns the ballot records read, 0 if nothing was staged."""
    store = storage.of(session)
    rows = store.grouped_ballots(session, plan.period_id, plan.contest_id, area_id, plan.voided)
    staged = staged_area(plan, area_id, rows)
    values = {"run_id": plan.run_id, "contest_id": plan.contest_id, "area_id": area_id, **staged,
              "staged_at": now()}  # the run's progress, read by the reconciler
    return staged["ballots_read"] if store.stage_area(session, values) else 0


def staged_area(plan: ContestPlan, area_id: int, rows: list[tuple]) -> dict:
    """What the area stages, from its grouped ballot rows: participation; the area's own result
    unless its operation is aggregate-results; candidate totals (an additive method) or the valid
    ballots' multiset (any other), for the contest stage to add up."""
    contest, spec = plan.contest, plan.areas[area_id]
    method = METHODS[contest.method]
    counted = count_area(
        plan.judge, rows, spec.weight, canonical=method.additive or spec.operation == TallyOperation.PROCESS_BALLOTS_ALL
    )
    own = None
    if spec.operation == TallyOperation.PROCESS_BALLOTS_ALL:
        own = ContestResult(contest, counted.participation, counting.decide(contest, counted.valid), spec.census)
    elif spec.operation == TallyOperation.SKIP_CANDIDATE_RESULTS:
        own = ContestResult(contest, counted.participation, None, spec.census)
    totals = method.totals(contest, counted.valid) if method.additive else None
    return {
        "operation": spec.operation,
        "participation": counted.participation.to_json(),
        "result": {
            "area": None if own is None else own.to_json(),
            "totals": None if totals is None else {c: exact_json(v) for c, v in totals.items()},
        },
        "valid_ballots": None if method.additive else pack_multiset(counted.valid_marks, counted.valid_weights),
        "ballots_read": counted.participation.total_ballots,
    }
