"""tally_operation at contest and area level (counting.md's table), in-process on real PostgreSQL:
what each scope reports, the refusal of aggregate-results for preferential methods, the audited
fallback of a missing or unknown value, and velvet's parent/child example."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

import counting
from models import entities as m
from models.db import session_scope
from counting.definition import contest_operation
from services.contests import engine_contest
from services.read.results import published
from services.lifecycle.commands import RequestTally
from tests import factories as f

pytestmark = pytest.mark.integration

OPERATIONS = ("process-ballots-all", "aggregate-results", "skip-candidate-results")
CANDIDATES = [{"id": "X"}, {"id": "Y"}, {"id": "Z"}]

# root (census 100) -> A (50) -> A1 (10); root -> B (40)
AREAS = [
    {"id": "root", "census": 100},
    {"id": "A", "parent": "root", "census": 50},
    {"id": "B", "parent": "root", "census": 40},
    {"id": "A1", "parent": "A", "census": 10},
]


def _ballots(contest: str) -> list[dict]:
    def cast(area, marks, n=1, **extra):
        return [{"contest": contest, "area": area, "marks": [[c, 1] for c in marks], **extra} for _ in range(n)]

    return (
        cast("root", "X", 6) + cast("root", "")  # 6 X, 1 blank
        + cast("A", "Y", 2) + cast("A", "X", explicit_invalid=True)  # 2 Y, 1 spoilt
        + cast("B", "Z", 2) + cast("B", "Z", weight=2)  # 3 records, 4 votes for Z
        + cast("A1", "X", 2) + cast("A1", "Y") + cast("A1", "XY")  # 2 X, 1 Y, 1 overvote
    )


# (total votes, valid, blank, explicit invalid, implicit invalid, census, candidate counts)
OWN = {
    "root": (7, 6, 1, 0, 0, 100, {"X": 6}),
    "A": (3, 2, 0, 1, 0, 50, {"Y": 2}),
    "B": (4, 4, 0, 0, 0, 40, {"Z": 4}),
    "A1": (4, 3, 0, 0, 1, 10, {"X": 2, "Y": 1}),
}
SUBTREE = {
    "root": (18, 15, 1, 1, 1, 200, {"X": 8, "Y": 3, "Z": 4}),
    "A": (7, 5, 0, 1, 1, 60, {"X": 2, "Y": 3}),
    "B": OWN["B"],
    "A1": OWN["A1"],
}
WINNER = {"root": "X", "A": "Y", "B": "Z", "A1": "X"}  # of each scope's ballots (own and subtree agree)


def _figures(result: dict) -> tuple:
    t = result["totals"]
    counts = {c["id"]: c["total_count"] for c in result["candidates"]} or None
    return (t["total_votes"], t["valid"], t["blank"], t["invalid_explicit"], t["invalid_implicit"], result["census"],
            counts, result["winners"])


def _expected(row: tuple, with_candidates: bool, winner: str) -> tuple:
    if not with_candidates:
        return row[:6] + (None, [])
    return row[:6] + ({c["id"]: row[6].get(c["id"], 0) for c in CANDIDATES}, [winner])


def _tally(url: str, definition: dict, ballots: list[dict]) -> tuple[int, m.TallyRun]:
    """Load, then request the tally: with Celery embedded it runs to its end once the request commits."""
    election_id, period_id = f.load(url, definition, ballots)
    with session_scope(url) as session:
        run, created = RequestTally(election_id, period_id, force=True, by="test").run(session)
        run_id = run.id
    assert created
    with session_scope(url) as session:
        return election_id, session.get(m.TallyRun, run_id)


def _published(url: str, election_id: int) -> dict[str, dict]:
    with session_scope(url) as session:
        tallies = published(session, election_id)["tallies"]
    assert len(tallies) == 1
    return {c["contest"]: c for c in tallies[0]["contests"]}


def _fallbacks(url: str, election_id: int) -> list[dict]:
    with session_scope(url) as session:
        return [e.payload for e in session.scalars(
            select(m.AuditEvent).where(m.AuditEvent.election_id == election_id,
                                       m.AuditEvent.kind == "tally_operation fallback").order_by(m.AuditEvent.seq))]


COMBINATIONS = [
    (method, contest_op, area_op)
    for method in ("plurality-at-large", "instant-runoff")
    for contest_op, area_op in itertools.product(OPERATIONS, OPERATIONS)
    if not (method == "instant-runoff" and contest_op == "aggregate-results")  # refused: see below
]


def test_every_contest_and_area_operation(embedded_db):
    contests, ballots = [], []
    for method, contest_op, area_op in COMBINATIONS:
        key = f"{method}/{contest_op}/{area_op}"
        contests.append({
            "id": key, "method": method, "candidates": CANDIDATES, "max_votes": 1 if method != "instant-runoff" else 3,
            "annotations": {"tally_operation": contest_op},
            "area_annotations": {a["id"]: {"tally_operation": area_op} for a in AREAS},
        })
        ballots += _ballots(key)
    election_id, run = _tally(embedded_db, f.election("ops", contests, areas=AREAS), ballots)
    assert run.status == m.RunStatus.COMPLETED, run.error
    results = _published(embedded_db, election_id)
    assert len(results) == len(COMBINATIONS) == 15
    assert _fallbacks(embedded_db, election_id) == []

    for method, contest_op, area_op in COMBINATIONS:
        key = f"{method}/{contest_op}/{area_op}"
        got = results[key]
        candidates = contest_op != "skip-candidate-results"
        assert _figures(got["result"]) == _expected(SUBTREE["root"], candidates, "X"), key
        # An area subtree result for every area with children, counted as the contest asks.
        assert sorted(got["subtrees"]) == ["A", "root"], key
        for area in got["subtrees"]:
            assert _figures(got["subtrees"][area]) == _expected(SUBTREE[area], candidates, WINNER[area]), (key, area)
        assert sorted(got["areas"]) == sorted(OWN), key
        for area, result in got["areas"].items():
            if area_op == "process-ballots-all":  # the area's own ballots, in full
                want = _expected(OWN[area], True, WINNER[area])
            elif area_op == "skip-candidate-results":  # the area's own participation only
                want = _expected(OWN[area], False, WINNER[area])
            else:  # the sum of the area's subtree
                want = _expected(SUBTREE[area], True, WINNER[area])
            assert _figures(result) == want, (key, area)
        if method == "instant-runoff" and candidates:
            assert [r["tallies"] for r in got["result"]["rounds"]] == [{"X": 8, "Y": 3, "Z": 4}]
    # Reasons are kept in every scope: the overvote is a plurality "too-many-marks", a ranked "overvote".
    assert results["plurality-at-large/aggregate-results/skip-candidate-results"]["result"]["totals"][
        "invalid_reasons"] == {"too-many-marks": 1}
    assert results["instant-runoff/process-ballots-all/skip-candidate-results"]["areas"]["A1"]["totals"][
        "invalid_reasons"] == {"overvote": 1}


def test_contest_operation_refuses_aggregate_results_for_preferential_methods():
    for name, method in counting.METHODS.items():
        row = m.Contest(key="c", method=name, seats=1, min_votes=0, max_votes=None, blank_policy="allowed",
                        options={}, annotations={"tally_operation": "aggregate-results"})
        row.candidates = [m.Candidate(key=k, position=i, name=k) for i, k in enumerate("ABC")]
        contest = engine_contest(row)
        if method.preferential:
            with pytest.raises(counting.DefinitionError, match="tally_operation") as error:
                contest_operation(contest)
            assert name in str(error.value)
        else:
            assert contest_operation(contest).value == "aggregate-results"


@pytest.mark.parametrize("method", ["instant-runoff", "borda"])
def test_preferential_aggregate_results_fails_the_run_before_it_starts(embedded_db, method):
    contests = [
        {"id": "fine", "method": "plurality-at-large", "candidates": CANDIDATES, "max_votes": 1},
        {"id": "ranked", "method": method, "candidates": CANDIDATES,
         "annotations": {"tally_operation": "aggregate-results"}},
    ]
    ballots = _ballots("fine") + _ballots("ranked")
    election_id, run = _tally(embedded_db, f.election(f"refused-{method}", contests, areas=AREAS), ballots)
    assert run.status == m.RunStatus.FAILED
    assert "contest 'ranked'" in run.error and "contest.annotations.tally_operation" in run.error
    assert f"aggregate-results cannot count {method}" in run.error
    # Refused before any work was planned or dispatched; nothing published.
    assert (run.dispatches, run.areas_total, run.started_at) == (0, 0, None)
    with session_scope(embedded_db) as session:
        assert session.scalar(select(func.count()).select_from(m.CertifiedResult)) == 0
        assert session.scalar(select(func.count()).select_from(m.StagedAreaResult)) == 0
        assert session.get(m.Election, election_id).status == "closed"
        failed = session.scalars(select(m.AuditEvent).where(m.AuditEvent.kind == "tally failed")).all()
        assert [e.payload["error"] for e in failed] == [run.error]
        contest = session.scalar(select(m.Contest).where(m.Contest.key == "ranked"))
        contest.annotations = {"tally_operation": "process-ballots-all"}
        period_id = run.voting_period_id
    # The definition was sealed with the period: mended in place, it is no longer what was sealed,
    # so the retry counts but publishes nothing (issue 13).
    with session_scope(embedded_db) as session:
        retry, created = RequestTally(election_id, period_id, by="test").run(session)
        retry_id = retry.id
    with session_scope(embedded_db) as session:
        retry = session.get(m.TallyRun, retry_id)
        assert retry.status == m.RunStatus.FAILED and "definition changed since the period was sealed" in retry.error
        assert session.scalar(select(func.count()).select_from(m.CertifiedResult)) == 0


def test_missing_or_unknown_operation_falls_back_to_the_default_and_is_audited(embedded_db):
    contests = [
        {"id": "p-missing", "method": "plurality-at-large", "candidates": CANDIDATES, "max_votes": 1},
        {"id": "p-empty", "method": "plurality-at-large", "candidates": CANDIDATES, "max_votes": 1,
         "annotations": {"tally_operation": ""},
         "area_annotations": {a["id"]: {"tally_operation": "process-ballots-all"} for a in AREAS}},
        {"id": "i-unknown", "method": "instant-runoff", "candidates": CANDIDATES,
         "annotations": {"tally_operation": "sideways"},
         "area_annotations": {"root": {"tally_operation": "process-ballots-all"},
                              "A": {"tally_operation": "aggregate-results"},
                              "B": {"tally_operation": "everything"},
                              "A1": {"tally_operation": 5}}},
    ]
    ballots = sum((_ballots(c["id"]) for c in contests), [])
    election_id, run = _tally(embedded_db, f.election("fallback", contests, areas=AREAS), ballots)
    assert run.status == m.RunStatus.COMPLETED, run.error

    events = _fallbacks(embedded_db, election_id)
    # One event per contest and configured value; an area event lists its areas.
    assert events == [
        {"contest": "p-missing", "scope": "contest", "configured": "missing", "used": "aggregate-results"},
        {"contest": "p-missing", "scope": "area", "areas": [a["id"] for a in AREAS], "configured": "missing",
         "used": "process-ballots-all"},
        {"contest": "p-empty", "scope": "contest", "configured": "missing", "used": "aggregate-results"},
        {"contest": "i-unknown", "scope": "contest", "configured": "sideways", "used": "process-ballots-all"},
        {"contest": "i-unknown", "scope": "area", "areas": ["B"], "configured": "everything",
         "used": "skip-candidate-results"},
        {"contest": "i-unknown", "scope": "area", "areas": ["A1"], "configured": "5", "used": "skip-candidate-results"},
    ]
    with session_scope(embedded_db) as session:
        assert {e.run_id for e in session.scalars(
            select(m.AuditEvent).where(m.AuditEvent.kind == "tally_operation fallback"))} == {run.id}

    results = _published(embedded_db, election_id)
    for key in ("p-missing", "p-empty"):  # the defaults: contest aggregate-results, area process-ballots-all
        assert _figures(results[key]["result"]) == _expected(SUBTREE["root"], True, "X")
        for area, result in results[key]["areas"].items():
            assert _figures(result) == _expected(OWN[area], True, WINNER[area]), (key, area)
    irv = results["i-unknown"]
    assert _figures(irv["result"]) == _expected(SUBTREE["root"], True, "X")  # default process-ballots-all
    assert _figures(irv["areas"]["root"]) == _expected(OWN["root"], True, "X")  # configured
    assert _figures(irv["areas"]["A"]) == _expected(SUBTREE["A"], True, "Y")  # configured
    assert _figures(irv["areas"]["B"]) == _expected(OWN["B"], False, "Z")  # default skip-candidate-results
    assert _figures(irv["areas"]["A1"]) == _expected(OWN["A1"], False, "X")


def test_velvet_parent_and_child_areas(embedded_db):
    """velvet's hierarchical example: a parent and a child area with 10 ballots each: each area
    reports its own 10, the parent's subtree 20 (and so does the contest)."""
    areas = [{"id": "parent", "census": 30}, {"id": "child", "parent": "parent", "census": 20}]
    contests = [
        {"id": "plurality", "method": "plurality-at-large", "candidates": CANDIDATES, "max_votes": 1},
        {"id": "irv", "method": "instant-runoff", "candidates": CANDIDATES},
    ]
    ballots = [
        {"contest": c["id"], "area": area, "marks": [[cand, 1]]}
        for c in contests
        for area, cand in (("parent", "X"), ("child", "Y"))
        for _ in range(10)
    ]
    election_id, run = _tally(embedded_db, f.election("velvet-tree", contests, areas=areas), ballots)
    assert run.status == m.RunStatus.COMPLETED, run.error
    results = _published(embedded_db, election_id)
    for key, area_candidates in (("plurality", True), ("irv", False)):  # the methods' area defaults
        got = results[key]
        assert {a: r["totals"]["total_votes"] for a, r in got["areas"].items()} == {"parent": 10, "child": 10}
        assert {a: r["totals"]["total_votes"] for a, r in got["subtrees"].items()} == {"parent": 20}
        assert got["result"]["totals"]["total_votes"] == 20
        assert got["subtrees"]["parent"]["census"] == got["result"]["census"] == 50
        assert bool(got["areas"]["child"]["candidates"]) == area_candidates
        counts = {c["id"]: c["total_count"] for c in got["subtrees"]["parent"]["candidates"]}
        assert counts == {"X": 10, "Y": 10, "Z": 0}
        if area_candidates:
            assert {c["id"]: c["total_count"] for c in got["areas"]["child"]["candidates"]} == {"X": 0, "Y": 10, "Z": 0}
