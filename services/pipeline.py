"""The tally pipeline's steps as plain functions over a session; tasks/tally.py wraps them.

start -> one process_area per (contest, area) -> aggregate_contest per contest -> finalize.
Each step is idempotent: staged rows are upserts keyed by (run, contest, area) or (run, contest),
and finalize publishes only while the run is RUNNING, all in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, defer

import counting
from counting.contest import area_operation, contest_operation
from counting.methods import METHODS
from counting.numbers import exact_json
from counting.ranking import sum_totals
from counting.result import ContestResult, no_winners, rounds_of
from counting.validation import Participation, classify
from models import entities as m
from models.marks import Decoder, merge_multisets, pack_multiset

from . import audit, batches, definition, exports
from .area_count import StoredBallotJudge, count_area
from .contests import engine_contest
from .runs import fail_run, iso, lock_run, now, refresh_election_status, transition


@dataclass(frozen=True)
class AreaJob:
    contest_id: int
    area_id: int
    keys: tuple[str, str, str, str]  # election, period, contest, area: for Flower and logs


def start(session: Session, run_id: int) -> list[list[AreaJob]] | None:
    """Mark the run RUNNING and plan one job per (contest, area); None when there is nothing to do.
    A contest that cannot be counted fails the run before any work is dispatched."""
    run = session.scalar(select(m.TallyRun).where(m.TallyRun.id == run_id).with_for_update())
    if run is None or run.status not in (m.RunStatus.PENDING, m.RunStatus.RUNNING):
        return None
    election = session.get(m.Election, run.election_id)
    period = session.get(m.VotingPeriod, run.voting_period_id)
    areas = _election_areas(session, election.id)
    plan = []
    fallbacks = []
    try:
        for row in election.contests:
            contest = engine_contest(row)
            op = contest_operation(contest)
            if op.fell_back:
                fallbacks.append({"contest": row.key, "scope": "contest", "configured": op.fallback_from, "used": op.value})
            # One event per contest and configured value, listing its areas: thousands of areas
            # without an annotation must not mean thousands of audit events.
            area_fallbacks: dict[tuple[str, str], list[str]] = {}
            for style in row.ballot_styles:
                area_op = area_operation(contest, style.area_annotations)
                if area_op.fell_back:
                    key = (area_op.fallback_from, area_op.value)
                    area_fallbacks.setdefault(key, []).append(areas[style.area_id].key)
            fallbacks += [
                {"contest": row.key, "scope": "area", "areas": keys, "configured": configured, "used": used}
                for (configured, used), keys in area_fallbacks.items()
            ]
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


def _election_areas(session: Session, election_id: int) -> dict[int, m.Area]:
    """Every area of the election in one query; later `style.area` and `area.parent` lookups then
    come from the session's identity map instead of one query per area."""
    return {a.id: a for a in session.scalars(select(m.Area).where(m.Area.election_id == election_id))}


def _contest_context(session: Session, contest_id: int):
    row = session.get(m.Contest, contest_id)
    contest = engine_contest(row)
    return row, contest, Decoder([c.key for c in row.candidates], METHODS[contest.method].mark_kind)


@dataclass(frozen=True)
class _AreaTaskPlan:
    """What every area task of one contest in one run needs besides its ballots."""

    period_id: int
    contest: counting.Contest
    judge: StoredBallotJudge
    areas: dict[int, tuple[int, int, str]]  # area id -> (weight, census, tally_operation)
    voided: tuple[int, ...]  # batches voided before the period was sealed: their ballots do not count


# Per worker process. A run's definitions are frozen while it runs (ballots too), so the plan is
# read once per (run, contest) instead of once per area, and each distinct ballot judged once.
_plans: dict[tuple[object, int, int], _AreaTaskPlan] = {}
_PLANS_KEPT = 16


def _area_task_plan(session: Session, run_id: int, contest_id: int) -> _AreaTaskPlan | None:
    key = (session.get_bind(), run_id, contest_id)  # ids repeat across databases (one engine each)
    plan = _plans.get(key)
    if plan is not None:
        return plan
    run = session.get(m.TallyRun, run_id)
    if run is None:
        return None
    row, contest, decoder = _contest_context(session, contest_id)
    every_area = _election_areas(session, run.election_id)
    areas = {
        s.area_id: (every_area[s.area_id].weight, every_area[s.area_id].census,
                    area_operation(contest, s.area_annotations).value)
        for s in row.ballot_styles
    }
    voided = tuple(b.id for b in batches.voided(session, run.voting_period_id))
    plan = _AreaTaskPlan(run.voting_period_id, contest, StoredBallotJudge(contest, decoder), areas, voided)
    if len(_plans) >= _PLANS_KEPT:
        _plans.clear()
    _plans[key] = plan
    return plan


_GROUPED = (
    "SELECT marks, explicit_invalid, defect, raw, sum(weight), count(*) FROM ballots"
    " WHERE voting_period_id = {0} AND contest_id = {0} AND area_id = {0}{1}"
    " GROUP BY marks, explicit_invalid, defect, raw"
)


def _grouped_rows(session: Session, plan: _AreaTaskPlan, contest_id: int, area_id: int) -> list[tuple]:
    """The area's counted ballots grouped, straight from the driver: at thousands of distinct
    ballots per area, result rows made by SQLAlchemy would cost more than the count. Ballots of
    voided batches are left out (their ids are the run's, frozen since the period was sealed)."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    not_voided = (
        " AND coalesce(batch_id, 0) NOT IN ({})".format(",".join(str(int(b)) for b in plan.voided))
        if plan.voided else ""
    )
    params = (plan.period_id, contest_id, area_id)
    if connection.dialect.name == "postgresql":
        cursor = driver.cursor(binary=True)  # bytea as bytes, no hex text to decode
        return cursor.execute(_GROUPED.format("%s", not_voided), params).fetchall()
    return driver.execute(_GROUPED.format("?", not_voided), params).fetchall()


def process_area(session: Session, run_id: int, contest_id: int, area_id: int) -> int:
    """Read one area's ballots in one grouped pass, classify and count them, stage the partial.
    Returns the number of ballot records read (0 when the run is no longer running)."""
    plan = _area_task_plan(session, run_id, contest_id)
    if plan is None:
        return 0
    contest = plan.contest
    area_weight, census, op = plan.areas[area_id]
    method = METHODS[contest.method]
    rows = _grouped_rows(session, plan, contest_id, area_id)
    counted = count_area(plan.judge, rows, area_weight, canonical=method.additive or op == "process-ballots-all")
    own = None
    if op == "process-ballots-all":
        own = ContestResult(contest, counted.participation, counting.decide(contest, counted.valid), census).to_json()
    elif op == "skip-candidate-results":
        own = ContestResult(contest, counted.participation, None, census).to_json()
    staged = {
        "operation": op,
        "participation": counted.participation.to_json(),
        "result": {
            "area": own,
            "totals": (
                {c: exact_json(v) for c, v in method.totals(contest, counted.valid).items()}
                if method.additive
                else None
            ),
        },
        "valid_ballots": None if method.additive else pack_multiset(counted.valid_marks, counted.valid_weights),
        "ballots_read": counted.participation.total_ballots,
        "staged_at": now(),  # the run's progress, read by the reconciler
    }
    # Staged only while the run is RUNNING, checked under a share lock held until this commits:
    # area tasks do not wait for each other, but a run failed meanwhile (its staging dropped)
    # gets no partial staged after it.
    params = {"run_id": run_id, "contest_id": contest_id, "area_id": area_id, **staged}
    written = session.execute(_stage_statement(session.get_bind().dialect.name), params).first()
    return counted.participation.total_ballots if written is not None else 0


_STAGED_COLUMNS = (
    "run_id", "contest_id", "area_id",
    "operation", "participation", "result", "valid_ballots", "ballots_read", "staged_at",
)


@lru_cache(maxsize=None)
def _stage_statement(dialect: str):
    """INSERT ... SELECT FROM tally_runs WHERE RUNNING FOR SHARE, upserted by (run, contest, area):
    one statement, built once per dialect, so SQLAlchemy compiles it once."""
    table = m.StagedAreaResult.__table__
    run = m.TallyRun.__table__
    source = (
        select(*(bindparam(c, type_=table.c[c].type) for c in _STAGED_COLUMNS))
        .where(run.c.id == bindparam("run_id"), run.c.status == m.RunStatus.RUNNING.value)
        .with_for_update(read=True)
    )
    if dialect == "postgresql":
        # A staged partial can always be made again, so its commit need not wait for the disk: a
        # database crash that loses it fails or stalls the run (retry / reconciler), never the count.
        # Set for this transaction here, in the statement, rather than by a round trip of its own.
        source = source.where(func.set_config("synchronous_commit", "off", True) == "off")
    dialect_insert = (postgresql if dialect == "postgresql" else sqlite).insert
    insert = dialect_insert(table).from_select(list(_STAGED_COLUMNS), source)
    return insert.on_conflict_do_update(
        index_elements=["run_id", "contest_id", "area_id"],
        set_={c: getattr(insert.excluded, c) for c in _STAGED_COLUMNS[3:]},
    ).returning(table.c.run_id)


def _exact(value) -> int | Fraction:
    return value if isinstance(value, int) else Fraction(value)


_MULTISETS_AT_ONCE = 16


class _ContestStage:
    """Everything the contest step knows: staged partials and the area tree of this contest."""

    def __init__(self, session: Session, run: m.TallyRun, contest_id: int):
        self.session, self.run_id, self.contest_id = session, run.id, contest_id
        self.row, self.contest, self.decoder = _contest_context(session, contest_id)
        self.method = METHODS[self.contest.method]
        staged = session.scalars(
            select(m.StagedAreaResult)
            .options(defer(m.StagedAreaResult.valid_ballots))  # read a few at a time: see _multisets
            .where(m.StagedAreaResult.run_id == run.id, m.StagedAreaResult.contest_id == contest_id)
        ).all()
        self.staged = {s.area_id: s for s in staged}
        every_area = _election_areas(session, self.row.election_id)
        self.areas = {s.area_id: every_area[s.area_id] for s in self.row.ballot_styles}
        missing = set(self.areas) - set(self.staged)
        if missing:
            raise RuntimeError(f"contest {self.row.key!r}: {len(missing)} area result(s) missing")
        self.children: dict[int, list[int]] = {a: [] for a in self.areas}
        for area in self.areas.values():
            parent = self._nearest_contest_ancestor(area)
            if parent is not None:
                self.children[parent].append(area.id)

    def _nearest_contest_ancestor(self, area: m.Area) -> int | None:
        node = area.parent
        while node is not None and node.id not in self.areas:
            node = node.parent
        return None if node is None else node.id

    def subtree(self, area_id: int) -> list[int]:
        out, todo = [], [area_id]
        while todo:
            a = todo.pop()
            out.append(a)
            todo.extend(self.children[a])
        return out

    def participation(self, area_ids) -> Participation:
        total = Participation()
        for a in area_ids:
            total = total + Participation.from_json(self.staged[a].participation)
        return total

    def outcome(self, area_ids, operation: str):
        if operation == "skip-candidate-results":
            return None
        if self.method.additive:
            totals = sum_totals(
                [{c: _exact(v) for c, v in self.staged[a].result["totals"].items()} for a in area_ids]
            )
            return self.method.decide(self.contest, totals)
        pooled = merge_multisets(self._multisets(area_ids))
        ballots = [(counting.Ballot(self.decoder(marks), weight), 1) for marks, weight in pooled.items()]
        return counting.decide(self.contest, classify(self.contest, ballots).valid)

    def _multisets(self, area_ids) -> Iterator[bytes]:
        """The areas' staged valid-ballot multisets, streamed: all of a large contest's at once
        would hold every area's distinct ballots in memory, where merged they are far fewer."""
        t = m.StagedAreaResult.__table__
        query = select(t.c.valid_ballots).where(t.c.run_id == self.run_id, t.c.contest_id == self.contest_id)
        if len(area_ids) < len(self.areas):
            query = query.where(t.c.area_id.in_(area_ids))
        for (blob,) in self.session.execute(query.execution_options(yield_per=_MULTISETS_AT_ONCE)):
            yield blob

    def result(self, area_ids, operation: str) -> dict:
        census = sum(self.areas[a].census for a in area_ids)
        return ContestResult(self.contest, self.participation(area_ids), self.outcome(area_ids, operation), census).to_json()


def aggregate_contest(session: Session, run_id: int, contest_id: int, report=None) -> bool:
    """Build the contest's results from the staged partials; True when every contest is staged.
    `report(stage, done, total)`, if given, hears which stage the step is at (for operators)."""
    report = report or (lambda stage, done=None, total=None: None)
    run = session.get(m.TallyRun, run_id)
    if run is None or run.status != m.RunStatus.RUNNING:
        return False
    report("reading the staged area results")
    stage = _ContestStage(session, run, contest_id)
    operation = contest_operation(stage.contest).value
    areas, subtrees = {}, {}
    for done, (area_id, area) in enumerate(stage.areas.items()):
        report("area and subtree results", done, len(stage.areas))
        staged = stage.staged[area_id]
        if staged.operation == "aggregate-results":
            areas[area.key] = stage.result(stage.subtree(area_id), "aggregate-results" if stage.method.additive else "process-ballots-all")
        else:
            areas[area.key] = staged.result["area"]
        if stage.children[area_id]:
            subtrees[area.key] = stage.result(
                stage.subtree(area_id), "skip-candidate-results" if operation == "skip-candidate-results" else operation
            )
    report("counting the contest", None, len(stage.areas))
    payload = {
        "operation": operation,
        "contest": stage.result(list(stage.areas), operation),
        "areas": areas,
        "subtrees": subtrees,
        "ballots_read": sum(s.ballots_read for s in stage.staged.values()),
    }
    report("storing the contest result")
    # Lock the run only now: counting a large contest must not hold up the other contests' area
    # tasks (each records a heartbeat on the run row) for as long as it takes.
    run = session.scalar(
        select(m.TallyRun).where(m.TallyRun.id == run_id).with_for_update().execution_options(populate_existing=True)
    )
    if run.status != m.RunStatus.RUNNING:
        return False
    table = m.StagedContestResult.__table__
    insert = (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert
    stmt = insert(table).values(run_id=run_id, contest_id=contest_id, payload=payload)
    session.execute(stmt.on_conflict_do_update(index_elements=["run_id", "contest_id"], set_={"payload": payload}))
    run.heartbeat_at = now()
    staged = session.scalar(select(func.count()).where(m.StagedContestResult.run_id == run_id))
    return staged == len(session.get(m.Election, run.election_id).contests)


def finalize(session: Session, run_id: int) -> bool:
    """Publish everything in this one transaction: certified results, winners, audit events, run
    COMPLETED, election tallied. Readers see all of it or none of it. False if not publishable."""
    run = lock_run(session, run_id)
    if run is None or run.status != m.RunStatus.RUNNING:
        return False
    election = session.get(m.Election, run.election_id)
    staged = {
        s.contest_id: s.payload
        for s in session.scalars(select(m.StagedContestResult).where(m.StagedContestResult.run_id == run_id))
    }
    if set(staged) != {c.id for c in election.contests}:
        return False
    period = session.get(m.VotingPeriod, run.voting_period_id)
    definition_hash = definition.current_hash(session, election.id)
    if period.sealed_definition_hash is not None and definition_hash != period.sealed_definition_hash:
        raise RuntimeError(
            f"the definition changed since the period was sealed (definition hash {definition_hash}, "
            f"sealed {period.sealed_definition_hash}): nothing is published"
        )
    ballots = sum(payload["ballots_read"] for payload in staged.values())
    if ballots == 0:  # only with --allow-empty: no winners chosen by tie-break from nothing
        staged = {contest_id: without_winners(payload) for contest_id, payload in staged.items()}
    winners_total = ties_total = 0
    for row in election.contests:
        payload = staged[row.id]
        winners, ties = _publish_contest(session, run, row, payload)
        winners_total += winners
        ties_total += ties
    # Under the row lock taken above; the guard makes it a compare-and-set all the same.
    if not transition(
        session, run, (m.RunStatus.RUNNING,), m.RunStatus.COMPLETED, completed_at=now(), completed_by=run.started_by,
        positions_tallied=len(election.contests), winners_applied=winners_total, ties_detected=ties_total,
        areas_done=run.areas_total, ballots_processed=ballots,
    ):
        raise RuntimeError(f"run {run_id} left RUNNING while it was being finalized")
    refresh_election_status(session, election.id)
    audit.append(
        session,
        election.id,
        "tally completed",
        {
            "voting_period_id": run.voting_period_id,
            "positions_tallied": run.positions_tallied,
            "winners_applied": winners_total,
            "ties_detected": ties_total,
            "ballots": ballots,
            "completed_at": iso(run.completed_at),
            "definition_hash": definition_hash,
            **exports.completion_record(
                session, run, {c.key: staged[c.id]["contest"] for c in election.contests}, ballots,
                batches.counted_ballots(session, period),
            ),
        },
        run_id=run.id,
    )
    session.execute(delete(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id))
    session.execute(delete(m.StagedContestResult).where(m.StagedContestResult.run_id == run_id))
    return True


def without_winners(payload: dict) -> dict:
    """A contest's staged results with no winners, each saying why in its notes."""
    return {
        **payload,
        "contest": no_winners(payload["contest"]),
        "areas": {k: no_winners(r) if r else r for k, r in payload["areas"].items()},
        "subtrees": {k: no_winners(r) if r else r for k, r in payload["subtrees"].items()},
    }


def _publish_contest(session: Session, run: m.TallyRun, row: m.Contest, payload: dict) -> tuple[int, int]:
    areas = _election_areas(session, row.election_id)
    area_ids = {areas[s.area_id].key: s.area_id for s in row.ballot_styles}
    scoped = [(m.ResultScope.CONTEST, None, payload["contest"])]
    scoped += [(m.ResultScope.AREA, area_ids[k], r) for k, r in payload["areas"].items()]
    scoped += [(m.ResultScope.SUBTREE, area_ids[k], r) for k, r in payload["subtrees"].items()]
    for scope, area_id, result in scoped:
        session.add(
            m.CertifiedResult(
                run_id=run.id,
                contest_id=row.id,
                scope=scope,
                area_id=area_id,
                total_ballots=result["extended_metrics"]["total_ballots"],
                turnout_percent=result["percentages"]["turnout"],
                notes="; ".join(result["notes"]),
                result=result,
            )
        )
    result = payload["contest"]
    candidate_ids = {c.key: c.id for c in row.candidates}
    for c in result["candidates"]:
        session.add(
            m.CertifiedCandidateResult(
                run_id=run.id,
                contest_id=row.id,
                candidate_id=candidate_ids[c["id"]],
                vote_count=str(c["total_count"]),
                vote_share_percent=c["percentage_votes"],
                rank=c["rank"],
                is_winner=c["is_winner"],
            )
        )
    for seat, key in enumerate(result["winners"], start=1):
        session.add(m.WinnerAssignment(run_id=run.id, contest_id=row.id, candidate_id=candidate_ids[key], seat=seat))
    for rnd in rounds_of(result):
        audit.append(session, run.election_id, "tally round", {"contest": row.key, **rnd}, run_id=run.id)
    return len(result["winners"]), len(result["ties"])
