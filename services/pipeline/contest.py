"""Stage 3, contest: the staged areas of one contest added up over the area tree (area_tree.py)
into the contest's result, staged for finalize."""

from __future__ import annotations

from sqlalchemy.orm import Session

from counting import official
from counting.definition import contest_operation
from counting.official import TieNeedsDecision
from models import entities as m

from services import storage
from services.lifecycle import ties
from services.lifecycle.periods import now
from services.lifecycle.runs import lock_run
from services.pipeline.area_tree import AreaTree, StagedArea, TreeArea, contest_payload, silent
from services.pipeline.area import contest_plan
from services.pipeline.plan import contest_context


def aggregate_contest(session: Session, run_id: int, contest_id: int, report=None) -> bool:
    """Build the contest's results from the staged partials; True when every contest is staged.
    `report(stage, done, total)`, if given, hears which stage the step is at (for operators)."""
    report = report or silent
    run = session.get(m.TallyRun, run_id)
    if run is None or run.status != m.RunStatus.RUNNING:
        return False
    report("reading the staged area results")
    tree = area_tree(session, run, contest_id)
    try:
        payload = contest_payload(tree, contest_operation(tree.contest).value, report)
    except TieNeedsDecision as tie:  # left to an official: the run waits for the decision (services.lifecycle.ties)
        ties.wait(session, run_id, tree.contest.id, tie)
        return False
    report("storing the contest result")
    # Lock the run only now: counting a large contest must not hold up the other contests' area
    # tasks (each records a heartbeat on the run row) for as long as it takes.
    run = lock_run(session, run_id)
    if run.status != m.RunStatus.RUNNING:
        return False
    store = storage.of(session)
    store.stage_contest(session, run_id, contest_id, payload)
    run.heartbeat_at = now()
    return store.staged_contest_count(session, run_id) == len(session.get(m.Election, run.election_id).contests)


def area_tree(session: Session, run: m.TallyRun, contest_id: int) -> AreaTree:
    """The contest's area tree and staged partials, read from the database into plain data."""
    store = storage.of(session)
    row, contest, _decoder = contest_context(session, contest_id)
    decisions = ties.decisions_for(session, run.election_id, run.voting_period_id, row.key)
    if decisions:
        contest = official.with_decisions(contest, decisions)
    areas = {
        a.id: TreeArea(a.id, a.key, a.parent_id, a.census)
        for a in store.election_areas(session, row.election_id).values()
    }
    staged = {
        s.area_id: StagedArea(s.operation, s.participation, s.result["area"], s.result["totals"], s.ballots_read)
        for s in store.staged_areas(session, run.id, contest_id)
    }
    judge = contest_plan(session, run.id, contest_id).judge  # warm: this worker's areas judged their ballots
    return AreaTree(
        contest, judge, areas, [s.area_id for s in row.ballot_styles], staged,
        lambda area_ids: store.staged_multisets(session, run.id, contest_id, area_ids),
    )
