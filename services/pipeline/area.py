"""Stage 2, area: each area's ballots read in one grouped pass, counted, and its partial staged.

`process_areas` is an area task's whole job: the areas of one message (plan.AreaBatch), each counted
on its own by `staged_area` (the counting itself, with no database) and staged on its own row, in one
transaction with one statement to read them and one to stage them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

import counting
from counting import official
from counting.definition import area_operation
from counting.methods import METHODS
from counting.numbers import exact_json
from counting.result import ContestResult
from counting.vocabulary import TallyOperation
from models import entities as m
from models.marks import pack_multiset

from services import storage

from services.lifecycle import batches
from services.pipeline.area_count import StoredBallotJudge, count_area
from services.lifecycle.periods import now
from services.pipeline.plan import contest_context


@dataclass(frozen=True)
class AreaSpec:
    key: str
    weight: int
    census: int
    operation: TallyOperation


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
        s.area_id: AreaSpec(every_area[s.area_id].key, every_area[s.area_id].weight, every_area[s.area_id].census,
                            area_operation(contest, s.area_annotations).value)
        for s in row.ballot_styles
    }
    voided = tuple(b.id for b in batches.voided(session, run.voting_period_id))
    judge = StoredBallotJudge(contest, decoder)
    # an area's own count elects nobody: its ties never wait for an official (counting.official.for_areas)
    plan = ContestPlan(run_id, contest_id, run.voting_period_id, official.for_areas(contest), judge, areas, voided)
    if len(_plans) >= _PLANS_KEPT:
        _plans.clear()
    _plans[key] = plan
    return plan


@dataclass(frozen=True)
class AreaCounted:
    area_id: int
    key: str
    ballots: int  # ballot records read and staged


def process_areas(session: Session, run_id: int, contest_id: int, area_ids: list[int], report=None) -> list[AreaCounted]:
    """Count and stage areas of one contest (one area task message) in this one transaction, each
    on its own row, upserted by (run, contest, area), only while the run is RUNNING. An area already
    staged for the run is skipped: its message was delivered again after a delivery that committed
    (counting it again would stage the same row). `report(area, done, total)`, if given, hears each
    area as it is counted. Returns the areas staged now: none when the run is no longer running."""
    plan = contest_plan(session, run_id, contest_id)
    if plan is None:
        return []
    store = storage.of(session)
    staged = store.staged_area_ids(session, run_id, contest_id, area_ids)
    todo = [a for a in area_ids if a not in staged]
    rows = store.grouped_ballots_of_areas(session, plan.period_id, contest_id, todo, plan.voided)
    counted, values = [], []
    for area_id in todo:
        partial = staged_area(plan, area_id, rows[area_id])
        # staged_at: the run's progress, read by the reconciler
        values.append({"run_id": run_id, "contest_id": contest_id, "area_id": area_id, **partial, "staged_at": now()})
        counted.append(AreaCounted(area_id, plan.areas[area_id].key, partial["ballots_read"]))
        if report is not None:
            report(counted[-1], len(counted), len(todo))
    return counted if values and store.stage_areas(session, values) else []


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
