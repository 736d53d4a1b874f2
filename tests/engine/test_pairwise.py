"""pairwise-beta: score = (wins + 1) / (wins + losses + 2), exact; never compared -> 0 (counting.md)."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counting import METHODS, count, parse_ballots, parse_contest
from counting.outcome import NO_VALID_VOTES

SETTINGS = settings(max_examples=80, deadline=None)


def contest(ids: str = "ABC", **fields) -> dict:
    return {"id": "t", "method": "pairwise-beta", "candidates": [{"id": c} for c in ids], **fields}


def pairs(*spec: str, weight: int = 1) -> dict:
    """A ballot of comparisons: "AB" is A beat B."""
    return {"marks": [[p[0], p[1]] for p in spec], "weight": weight}


def run(definition: dict, records: list[dict]):
    return count(parse_contest(definition), parse_ballots(records))


def test_worked_example():
    result = run(contest(), [pairs("AB", "BC")])
    assert result.outcome.totals == {"A": Fraction(2, 3), "B": Fraction(1, 2), "C": Fraction(1, 3)}
    out = result.to_json()
    assert out["winners"] == ["A"]
    assert [(c["id"], c["total_count"], c["rank"]) for c in out["candidates"]] == [
        ("A", "2/3", 1),
        ("B", "0.5", 2),
        ("C", "1/3", 3),
    ]


def test_a_candidate_never_compared_scores_zero():
    result = run(contest("ABCD"), [pairs("AB", "BC")])
    assert result.outcome.totals["D"] == 0
    assert result.outcome.order[-1] == "D"


def test_with_no_ballots_everyone_scores_zero_and_nobody_is_elected():
    out = run(contest(), []).to_json()
    assert out["winners"] == [] and out["ties"] == []
    assert [c["total_count"] for c in out["candidates"]] == [0, 0, 0]
    assert out["notes"] == [NO_VALID_VOTES]


def test_wins_and_losses_are_weighted():
    # A: 3 wins, 2 losses -> 4/7; B: 1 win, 3 losses -> 2/6; C: 1 win, no loss -> 2/3.
    result = run(contest(), [pairs("AB", weight=3), pairs("BA", "CA")])
    assert result.outcome.totals == {"A": Fraction(4, 7), "B": Fraction(2, 6), "C": Fraction(2, 3)}
    assert result.winners == ["C"]


def test_several_seats_go_to_the_top_scores():
    result = run(contest("ABCD", seats=2), [pairs("AB", "AC", "AD", "BC", "BD", "CD")])
    assert result.outcome.totals == {"A": Fraction(4, 5), "B": Fraction(3, 5), "C": Fraction(2, 5), "D": Fraction(1, 5)}
    assert result.winners == ["A", "B"]


def test_a_tie_at_the_cutoff_is_recorded():
    out = run(contest(), [pairs("AC"), pairs("BC")]).to_json()
    assert out["winners"] == ["A"]
    assert out["ties"] == [
        {"round": None, "purpose": "cutoff", "candidates": ["A", "B"], "chosen": ["A"], "rule": "candidate-id-asc"}
    ]


@pytest.mark.parametrize(
    "record, reason",
    [
        (pairs("AB", "BA"), "contradictory-pair"),
        (pairs("AB", "AB"), "duplicate-pair"),
        (pairs("AA"), "invalid-value"),
        ({"marks": [["A", "Z"]]}, "unknown-candidate"),
    ],
)
def test_bad_pairs_are_invalid_and_never_scored(record, reason):
    result = run(contest(), [record, pairs("BC")])
    assert result.participation.invalid_reasons == {reason: 1}
    assert result.outcome.totals == {"A": 0, "B": Fraction(2, 3), "C": Fraction(1, 3)}


def test_registered_as_a_preferential_pair_method():
    m = METHODS["pairwise-beta"]
    assert (m.mark_kind, m.preferential) == ("pair", True)
    assert (m.contest_default, m.area_default) == ("process-ballots-all", "skip-candidate-results")


@st.composite
def profiles(draw):
    n = draw(st.integers(1, 5))
    ids = "ABCDE"[:n]
    all_pairs = [(a, b) for a in ids for b in ids if a < b]
    ballots = []
    for _ in range(draw(st.integers(0, 15))):
        chosen = draw(st.lists(st.sampled_from(all_pairs), unique=True, max_size=len(all_pairs))) if all_pairs else []
        marks = [[a, b] if draw(st.booleans()) else [b, a] for a, b in chosen]
        ballots.append({"marks": marks, "weight": draw(st.integers(1, 3))})
    return contest(ids, seats=draw(st.integers(1, 6))), ballots


@given(profile=profiles(), seed=st.integers(0, 2**16))
@SETTINGS
def test_ballot_and_pair_order_do_not_matter(profile, seed):
    definition, records = profile
    rng = random.Random(seed)
    shuffled = [{**r, "marks": rng.sample(r["marks"], len(r["marks"]))} for r in rng.sample(records, len(records))]
    assert run(definition, shuffled).to_json() == run(definition, records).to_json()


@given(profile=profiles())
@SETTINGS
def test_a_ballot_of_weight_w_counts_as_w_ballots(profile):
    definition, records = profile
    unrolled = [{"marks": r["marks"]} for r in records for _ in range(r["weight"])]
    assert run(definition, unrolled).outcome.totals == run(definition, records).outcome.totals


@given(profile=profiles())
@SETTINGS
def test_scores_and_winners(profile):
    definition, records = profile
    result = run(definition, records)
    seats = min(definition["seats"], len(definition["candidates"])) if result.participation.valid else 0
    assert len(result.winners) == seats
    for c, score in result.outcome.totals.items():
        assert isinstance(score, (int, Fraction)) and 0 <= score < 1
        compared = any(c in mark for r in records for mark in r["marks"])
        assert (score > 0) == compared
