"""The area tasks' arithmetic, without servers: staged multisets round-trip, an area counted from
its grouped stored rows (each distinct ballot judged once, its figures scaled by weight) equals the
plain count (services.pipeline.area_count.count_area_plainly: the engine's classification of the same
ballots), and so does everything the area stage stages for it."""

from __future__ import annotations

import random
from unittest.mock import patch

from hypothesis import given, settings, strategies as st

import counting
from counting.validation import classify
from models.marks import Decoder, encode, pack_multiset, unpack_multiset
from models import pooling
from models.pooling import merge_multisets
from counting.numbers import exact_json
from counting.result import ContestResult
from counting.vocabulary import TallyOperation
from services.pipeline.area_count import StoredBallotJudge, count_area, count_area_plainly
from services.pipeline.area import AreaSpec, ContestPlan, staged_area
from tests.pipeline import area_rows as rows
from tests.pipeline.area_rows import CANDIDATES


@given(st.lists(st.tuples(st.binary(max_size=24), st.integers(1, 2**63 - 1)), max_size=50))
def test_a_staged_multiset_reads_back_as_written(pairs):
    marks, weights = [m for m, _ in pairs], [w for _, w in pairs]
    assert list(unpack_multiset(pack_multiset(marks, weights))) == pairs


@settings(deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from([b"", b"a", b"bc", b"\x00\x01"]),
                                   st.one_of(st.integers(0, 9), st.integers(-2**63, 2**64))), max_size=6),
                max_size=6),
       st.sampled_from([2, 1 << 20]))
def test_merged_multisets_sum_each_marks_weight_in_the_marks_order(multisets, entries_at_once):
    """Arrow's sums, gathered a few entries at a time or all at once, or Python's from wherever a sum
    could pass 64 bits (large or negative weights, a blob of weights past 64 bits) on."""
    expected: dict = {}
    for pairs in multisets:
        for marks, weight in pairs:
            expected[marks] = expected.get(marks, 0) + weight
    with patch.object(pooling, "_ENTRIES_AT_ONCE", entries_at_once):
        merged = merge_multisets(pack_multiset([m for m, _ in pairs], [w for _, w in pairs]) for pairs in multisets)
    assert list(merged.items()) == sorted(expected.items())


def test_weights_past_64_bits_are_kept_exactly():
    pairs = [(b"\x00\x01\x00\x01", 2**70 + 3), (b"", 1)]
    blob = pack_multiset([m for m, _ in pairs], [w for _, w in pairs])
    assert list(unpack_multiset(blob)) == pairs
    assert merge_multisets([blob, blob]) == {m: 2 * w for m, w in pairs}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([("instant-runoff", "rank"), ("plurality-at-large", "check")]),
       st.integers(1, 3), st.integers(1, 3))
def test_an_area_counts_as_the_engine_classifies_it(seed, method_kind, area_weight, min_votes):
    method, kind = method_kind
    contest = rows.contest(method, max_votes=3, min_votes=min_votes - 1)
    decoder = Decoder(CANDIDATES, kind)
    grouped = rows.grouped_rows(random.Random(seed), kind, 60)
    judge = StoredBallotJudge(contest, decoder)
    counted = count_area(judge, grouped, area_weight, canonical=True)
    again = count_area(judge, grouped, area_weight, canonical=True)  # the second time, from what was remembered
    expected = count_area_plainly(contest, decoder, grouped, area_weight)
    for result in (counted, again):
        assert result.participation.to_json() == expected.participation.to_json()
        assert result.valid == expected.valid
        staged = merge_multisets([pack_multiset(result.valid_marks, result.valid_weights)])
        pooled = classify(contest, [(counting.Ballot(decoder(m), w), 1) for m, w in staged.items()])
        assert pooled.valid == expected.valid


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["instant-runoff", "plurality-at-large", "borda"]),
       st.sampled_from(TallyOperation), st.integers(1, 3), st.integers(0, 50))
def test_the_area_stage_stages_what_the_plain_count_gives(seed, method, operation, area_weight, census):
    """The area stage's whole product for one area (services.pipeline.area.staged_area: participation,
    own result, additive totals or the valid-ballot multiset) against the plain count of its rows."""
    kind = counting.METHODS[method].mark_kind
    contest = rows.contest(method, max_votes=4 if kind == "rank" else 2)
    decoder = Decoder(CANDIDATES, kind)
    judge = StoredBallotJudge(contest, decoder)
    plan = ContestPlan(1, 1, 1, contest, judge, {7: AreaSpec("a7", area_weight, census, operation)}, ())
    grouped = rows.grouped_rows(random.Random(seed), kind, 40)
    staged = staged_area(plan, 7, grouped)
    plain = count_area_plainly(contest, decoder, grouped, area_weight)
    assert staged["operation"] == operation
    assert staged["participation"] == plain.participation.to_json()
    assert staged["ballots_read"] == sum(records for *_, records, _area in grouped)
    outcome = counting.decide(contest, plain.valid)
    expected_area = {
        TallyOperation.PROCESS_BALLOTS_ALL: ContestResult(contest, plain.participation, outcome, census).to_json(),
        TallyOperation.SKIP_CANDIDATE_RESULTS: ContestResult(contest, plain.participation, None, census).to_json(),
        TallyOperation.AGGREGATE_RESULTS: None,  # counted over its subtree by the contest stage
    }[operation]
    assert staged["result"]["area"] == expected_area
    registered = counting.METHODS[method]
    if registered.additive:
        totals = registered.totals(contest, plain.valid)
        assert staged["result"]["totals"] == {c: exact_json(v) for c, v in totals.items()}
        assert staged["valid_ballots"] is None
    else:
        assert staged["result"]["totals"] is None
        pooled = merge_multisets([staged["valid_ballots"]])
        assert classify(contest, [(counting.Ballot(decoder(m), w), 1) for m, w in pooled.items()]).valid == plain.valid


def test_the_judges_memory_stays_within_its_byte_budget():
    """50,000 distinct ballots through a judge with a 2 MB budget: what it remembers, measured by
    tracemalloc, stays within twice the budget; without the budget it is several times that."""
    import tracemalloc

    names = CANDIDATES + [f"X{i}" for i in range(40)]
    rng = random.Random(5)
    rows = []
    seen = set()
    while len(rows) < 50_000:
        chosen = tuple(rng.sample(range(len(names)), 5))
        if chosen not in seen:
            seen.add(chosen)
            rows.append(encode(tuple((names[c], r + 1) for r, c in enumerate(chosen)), {n: i for i, n in enumerate(names)}, "rank"))
    budget = 2 << 20
    before = StoredBallotJudge.in_use
    for limit, bound in ((budget, 2 * budget), (1 << 40, None)):
        contest = counting.parse_contest({"id": "x", "method": "instant-runoff", "max_votes": 5,
                                          "candidates": [{"id": c} for c in names]})
        judge = StoredBallotJudge(contest, Decoder(names, "rank"), budget=limit)
        tracemalloc.start()
        for marks in rows:
            judge(marks, False, None, None)
        held = tracemalloc.get_traced_memory()[1]  # the peak
        tracemalloc.stop()
        if bound is not None:
            assert judge.bytes <= limit and held < bound, (judge.bytes, held)
            budgeted = held
        else:
            assert held > 4 * budgeted, (held, budgeted)  # the budget is what kept it small
            print(f"\njudge of 50,000 distinct ballots: {budgeted / 2**20:.1f} MB with a 2 MB budget, "
                  f"{held / 2**20:.1f} MB without")
        del judge
    assert StoredBallotJudge.in_use == before  # a dropped judge gives its bytes back
