"""The contest stage's area-tree arithmetic (services.pipeline.area_tree), pure: no database.

Areas and staged partials are plain data: each contest area's grouped ballot rows go through the
area stage's own counting (staged_area), its staged values through JSON as the staging table keeps
them, and the tree then adds them up. Whatever the tree, the areas the contest is counted in and their
operations, each result equals counting the union of its areas' ballots directly."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings, strategies as st

import counting
from counting.result import ContestResult
from counting.vocabulary import TallyOperation
from models.marks import Decoder
from services.pipeline.area_count import StoredBallotJudge, count_area_plainly
from services.pipeline.area import AreaSpec, ContestPlan, staged_area
from services.pipeline.area_tree import AreaTree, StagedArea, TreeArea, contest_payload
from tests.pipeline import area_rows as rows
from tests.pipeline.area_rows import CANDIDATES

OPERATIONS = tuple(TallyOperation)


@st.composite
def elections(draw, method: str):
    """(areas, contest areas in report order, per-area operations, contest operation, seed)."""
    n = draw(st.integers(1, 9))
    parents = [None] + [draw(st.one_of(st.none(), st.integers(0, i - 1))) for i in range(1, n)]
    areas = {
        i + 1: TreeArea(i + 1, f"a{i}", None if p is None else p + 1, draw(st.integers(0, 40)))
        for i, p in enumerate(parents)
    }
    counted = draw(st.permutations(list(areas)))[: draw(st.integers(1, n))]
    operations = {a: draw(st.sampled_from(OPERATIONS)) for a in counted}
    additive = counting.METHODS[method].additive
    # aggregate-results is refused for a contest of a non-additive method (counting.contest_operation)
    allowed = [o for o in OPERATIONS if additive or o != TallyOperation.AGGREGATE_RESULTS]
    contest_operation = draw(st.sampled_from(allowed))
    return areas, counted, operations, contest_operation, draw(st.integers(0, 10**6))


class Election:
    """A contest counted in some areas of a tree: each area's rows staged as the area stage stages them."""

    def __init__(self, method: str, areas, counted, operations, seed: int):
        kind = counting.METHODS[method].mark_kind
        self.contest = rows.contest(method, max_votes=4 if kind == "rank" else 2)
        self.decoder = Decoder(CANDIDATES, kind)
        self.areas, self.counted = areas, counted
        rng = random.Random(seed)
        self.weights = {a: rng.randint(1, 3) for a in counted}
        self.rows = {a: rows.grouped_rows(rng, kind, rng.randint(0, 12)) for a in counted}
        specs = {a: AreaSpec(areas[a].key, self.weights[a], areas[a].census, operations[a]) for a in counted}
        plan = ContestPlan(1, 1, 1, self.contest, StoredBallotJudge(self.contest, self.decoder), specs, ())
        staged = {a: staged_area(plan, a, self.rows[a]) for a in counted}
        self.multisets = {a: s.pop("valid_ballots") for a, s in staged.items()}
        staged = json.loads(json.dumps(staged))  # as the staging table gives it back
        self.staged = {
            a: StagedArea(s["operation"], s["participation"], s["result"]["area"], s["result"]["totals"],
                          s["ballots_read"])
            for a, s in ((int(k), v) for k, v in staged.items())
        }

    def tree(self, staged=None) -> AreaTree:
        return AreaTree(self.contest, StoredBallotJudge(self.contest, self.decoder), self.areas, self.counted, staged or self.staged,
                        lambda ids: [self.multisets[a] for a in (self.counted if ids is None else ids)])

    def ancestors_or_self(self, area_id: int) -> list[int]:
        out = []
        while area_id is not None:
            out.append(area_id)
            area_id = self.areas[area_id].parent_id
        return out

    def below(self, area_id: int) -> set[int]:
        """The contest areas at or below `area_id` in the election's tree."""
        return {b for b in self.counted if area_id in self.ancestors_or_self(b)}

    def direct(self, area_ids, operation: TallyOperation) -> dict:
        """The contest over these areas, counted from their ballots together."""
        union = [row for a in area_ids for row in _weighted(self.rows[a], self.weights[a])]
        plain = count_area_plainly(self.contest, self.decoder, union, 1)
        skipped = operation == TallyOperation.SKIP_CANDIDATE_RESULTS
        outcome = None if skipped else counting.decide(self.contest, plain.valid)
        census = sum(self.areas[a].census for a in area_ids)
        return ContestResult(self.contest, plain.participation, outcome, census).to_json()


def _weighted(grouped: list[tuple], weight: int) -> list[tuple]:
    return [(marks, e, d, raw, w * weight, n, a) for marks, e, d, raw, w, n, a in grouped]


@settings(max_examples=60, deadline=None)
@given(elections("plurality-at-large"))
def test_each_subtree_is_its_area_and_every_contest_area_below_it(case):
    areas, counted, operations, _, seed = case
    election = Election("plurality-at-large", areas, counted, operations, seed)
    tree = election.tree()
    for a in counted:
        assert set(tree.subtree(a)) == election.below(a)
        assert len(tree.subtree(a)) == len(set(tree.subtree(a)))
        parent = tree.nearest_contest_ancestor(a)
        between = election.ancestors_or_self(a)[1:]
        assert parent == next((b for b in between if b in counted), None)
    tops = [a for a in counted if tree.nearest_contest_ancestor(a) is None]
    assert sorted(b for a in tops for b in tree.subtree(a)) == sorted(counted)  # a partition


def _own(result: dict) -> dict:
    """An area's or subtree's result without the contest's rounds followed in it (area_rounds)."""
    return {k: v for k, v in result.items() if k != "followed_rounds"}


@pytest.mark.parametrize("method", ["plurality-at-large", "borda", "instant-runoff"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_every_result_equals_counting_the_union_of_its_areas_ballots(method, data):
    """Additive methods add staged totals, the others pool staged multisets: either way the contest,
    each subtree and each area counted by aggregation equal a direct count of their ballots."""
    areas, counted, operations, operation, seed = data.draw(elections(method))
    election = Election(method, areas, counted, operations, seed)
    tree = election.tree()
    payload = contest_payload(tree, operation)
    assert payload["operation"] == operation
    assert payload["contest"] == election.direct(counted, operation)
    assert payload["ballots_read"] == sum(n for a in counted for *_, n, _area in election.rows[a])
    assert list(payload["areas"]) == [areas[a].key for a in counted]
    for a in counted:
        key, below = areas[a].key, election.below(a)
        if operations[a] == TallyOperation.AGGREGATE_RESULTS:  # not counted in the area: counted here over its subtree
            assert _own(payload["areas"][key]) == election.direct(below, TallyOperation.PROCESS_BALLOTS_ALL)
        else:
            assert _own(payload["areas"][key]) == election.direct([a], operations[a])
        if len(below) > 1:
            assert _own(payload["subtrees"][key]) == election.direct(below, operation)
        else:
            assert key not in payload["subtrees"]


def test_a_missing_area_result_stops_the_contest_naming_it():
    areas = {1: TreeArea(1, "root", None, 0), 2: TreeArea(2, "north", 1, 0), 3: TreeArea(3, "south", 1, 0)}
    operations = dict.fromkeys([1, 2, 3], TallyOperation.PROCESS_BALLOTS_ALL)
    election = Election("plurality-at-large", areas, [1, 2, 3], operations, 1)
    with pytest.raises(RuntimeError, match="contest 'x': 1 area result"):
        election.tree({a: s for a, s in election.staged.items() if a != 3})
