"""The area tasks' arithmetic, without servers: staged multisets round-trip, and an area counted
from its grouped stored rows (each distinct ballot judged once, its figures scaled by weight)
equals the engine's classification of the same ballots."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

import counting
from counting.validation import classify
from models.marks import Decoder, encode, merge_multisets, pack_multiset, stored_ballot, unpack_multiset
from services.area_count import StoredBallotJudge, count_area

CANDIDATES = ["A", "B", "C", "D"]
POSITIONS = {c: i for i, c in enumerate(CANDIDATES)}


@given(st.lists(st.tuples(st.binary(max_size=24), st.integers(1, 2**63 - 1)), max_size=50))
def test_a_staged_multiset_reads_back_as_written(pairs):
    marks, weights = [m for m, _ in pairs], [w for _, w in pairs]
    assert list(unpack_multiset(pack_multiset(marks, weights))) == pairs


def test_weights_past_64_bits_are_kept_exactly():
    pairs = [(b"\x00\x01\x00\x01", 2**70 + 3), (b"", 1)]
    blob = pack_multiset([m for m, _ in pairs], [w for _, w in pairs])
    assert list(unpack_multiset(blob)) == pairs
    assert merge_multisets([blob, blob]) == {m: 2 * w for m, w in pairs}


def _contest(method: str, max_votes: int, min_votes: int = 0) -> counting.Contest:
    return counting.parse_contest({"id": "x", "method": method, "max_votes": max_votes, "min_votes": min_votes,
                                   "candidates": [{"id": c} for c in CANDIDATES]})


def _rows(rng: random.Random, kind: str, n: int) -> list[tuple]:
    """Grouped stored rows: (marks, explicit, defect, raw, weight, records), odd ones included."""
    rows = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.05:
            rows.append((b"", False, "malformed-marks", None, 2, 1))
        elif roll < 0.1:
            rows.append((b"", False, None, '{"marks": [["Z", 1]]}', 1, 1))
        else:
            chosen = rng.sample(CANDIDATES, rng.randint(0, 4))
            marks = [(c, r + 1 if kind == "rank" else 1) for r, c in enumerate(chosen)]
            if chosen and rng.random() < 0.1:
                marks.append((chosen[0], 1))  # a candidate twice, or an overvote
            data = encode(tuple(marks), POSITIONS, kind)
            rows.append((data, rng.random() < 0.05, None, None, rng.randint(1, 9), rng.randint(1, 3)))
    return rows


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from([("instant-runoff", "rank"), ("plurality-at-large", "check")]),
       st.integers(1, 3), st.integers(1, 3))
def test_an_area_counts_as_the_engine_classifies_it(seed, method_kind, area_weight, min_votes):
    method, kind = method_kind
    contest = _contest(method, max_votes=3, min_votes=min_votes - 1)
    decoder = Decoder(CANDIDATES, kind)
    rows = _rows(random.Random(seed), kind, 60)
    judge = StoredBallotJudge(contest, decoder)
    counted = count_area(judge, rows, area_weight, canonical=True)
    again = count_area(judge, rows, area_weight, canonical=True)  # the second time, from what was remembered
    groups = [(stored_ballot(decoder, marks, w * area_weight, e, d, raw), n) for marks, e, d, raw, w, n in rows]
    expected = classify(contest, groups)
    for result in (counted, again):
        assert result.participation.to_json() == expected.participation.to_json()
        assert result.valid == expected.valid
        staged = merge_multisets([pack_multiset(result.valid_marks, result.valid_weights)])
        pooled = classify(contest, [(counting.Ballot(decoder(m), w), 1) for m, w in staged.items()])
        assert pooled.valid == expected.valid


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
