"""borda, borda-nauru, borda-mas-madrid: the worked examples of counting.md and the rules around them."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counting import METHODS, DefinitionError, count, parse_ballots, parse_contest
from counting.ranking import CUTOFF_NOTE, sum_totals
from counting.validation import classify

SETTINGS = settings(max_examples=60, deadline=None)


def contest(method: str, ids: str = "ABC", **fields) -> dict:
    candidates = fields.pop("candidates", [{"id": c} for c in ids])
    return {"id": "t", "method": method, "candidates": candidates, **fields}


def ranked(*orders: str, weight: int = 1) -> list[dict]:
    """One ballot per string, ranking its letters in order ("AB" is A 1, B 2)."""
    return [{"marks": [[c, i + 1] for i, c in enumerate(order)], "weight": weight} for order in orders]


def run(definition: dict, records: list[dict]):
    return count(parse_contest(definition), parse_ballots(records))


def counts(result) -> dict:
    return {row["id"]: row["total_count"] for row in result.to_json()["candidates"]}


# counting.md: ballots A>B, B>C, A, B, A, B with M = 2.
EXAMPLE = ranked("AB", "BC", "A", "B", "A", "B")


def test_borda_worked_example():
    result = run(contest("borda", max_votes=2), EXAMPLE)
    assert result.outcome.totals == {"A": 6, "B": 7, "C": 1}
    out = result.to_json()
    assert out["winners"] == ["B"]
    assert [(c["id"], c["total_count"], c["rank"], c["is_winner"]) for c in out["candidates"]] == [
        ("B", 7, 1, True),
        ("A", 6, 2, False),
        ("C", 1, 3, False),
    ]
    assert out["ties"] == [] and out["notes"] == []


def test_borda_nauru_worked_example_in_exact_fractions():
    result = run(contest("borda-nauru", max_votes=2), EXAMPLE)
    assert result.outcome.totals == {"A": 3, "B": Fraction(7, 2), "C": Fraction(1, 2)}
    assert all(isinstance(v, (int, Fraction)) for v in result.outcome.totals.values())
    assert counts(result) == {"B": "3.5", "A": 3, "C": "0.5"}
    assert result.winners == ["B"]


def test_nauru_thirds_are_written_as_fractions():
    result = run(contest("borda-nauru"), ranked("ABC"))
    assert counts(result) == {"A": 1, "B": "0.5", "C": "1/3"}


def test_max_points_defaults_to_max_votes_then_the_candidate_count():
    assert run(contest("borda"), ranked("ABC")).outcome.totals == {"A": 3, "B": 2, "C": 1}
    assert run(contest("borda", max_votes=2), ranked("AB")).outcome.totals == {"A": 2, "B": 1, "C": 0}


def test_borda_max_points_option_sets_the_first_positions_points():
    result = run(contest("borda", options={"borda_max_points": 10}), ranked("ABC", weight=2))
    assert result.outcome.totals == {"A": 20, "B": 18, "C": 16}


def test_points_never_go_below_zero_when_max_points_is_below_the_ranks():
    result = run(contest("borda", options={"borda_max_points": 1}), ranked("ABC"))
    assert result.outcome.totals == {"A": 1, "B": 0, "C": 0}


def test_a_gap_in_the_ranks_does_not_change_the_position():
    gap = [{"marks": [["C", 3], ["A", 1]]}]
    assert run(contest("borda"), gap).outcome.totals == {"A": 3, "B": 0, "C": 2}
    assert run(contest("borda-nauru"), gap).outcome.totals == {"A": 1, "B": 0, "C": Fraction(1, 2)}


def test_weights_multiply_points():
    result = run(contest("borda", max_votes=2), ranked("AB", weight=3) + ranked("BA"))
    assert result.outcome.totals == {"A": 7, "B": 5, "C": 0}


def test_a_tie_at_the_cutoff_is_recorded_and_noted():
    result = run(contest("borda", max_votes=2), ranked("AB", "BA", "C"))
    out = result.to_json()
    assert out["winners"] == ["A"]
    assert out["ties"] == [
        {"round": None, "purpose": "cutoff", "candidates": ["A", "B"], "chosen": ["A"], "rule": "candidate-id-asc"}
    ]
    assert out["notes"] == [CUTOFF_NOTE]


def test_several_seats_go_to_the_top_totals():
    result = run(contest("borda", "ABCD", seats=2), ranked("ABCD", "BACD", "DCAB"))
    assert result.outcome.totals == {"A": 9, "B": 8, "C": 7, "D": 6}
    assert result.winners == ["A", "B"]


# borda-mas-madrid: categories X = [X1, X2, X3] and Y = [Y1, Y2], in this candidate order.
MAS_MADRID = contest(
    "borda-mas-madrid",
    candidates=[
        {"id": "X1", "category": "X"},
        {"id": "Y1", "category": "Y"},
        {"id": "X2", "category": "X"},
        {"id": "Y2", "category": "Y"},
        {"id": "X3", "category": "X"},
        {"id": "Z", "category": None},
    ],
    max_votes=3,
)


def marks(*ids: str, weight: int = 1) -> dict:
    return {"marks": [[c, i + 1] for i, c in enumerate(ids)], "weight": weight}


@pytest.mark.parametrize(
    "ballot, totals",
    [
        # a block vote: X's full list in candidate order counts 5 times (3, 2, 1 points each x 5)
        (marks("X1", "X2", "X3"), {"X1": 15, "X2": 10, "X3": 5}),
        (marks("Y1", "Y2"), {"Y1": 15, "Y2": 10}),
        (marks("Y1", "Y2", weight=2), {"Y1": 30, "Y2": 20}),
        # not a block: wrong order, part of a list, a list plus another candidate, two categories
        (marks("X2", "X1", "X3"), {"X2": 3, "X1": 2, "X3": 1}),
        (marks("X1", "X2"), {"X1": 3, "X2": 2}),
        (marks("Y1", "Y2", "Z"), {"Y1": 3, "Y2": 2, "Z": 1}),
        (marks("X1", "Y1"), {"X1": 3, "Y1": 2}),
        (marks("Z"), {"Z": 3}),
    ],
)
def test_mas_madrid_block_vote_multiplier(ballot, totals):
    result = run(MAS_MADRID, [ballot])
    expected = dict.fromkeys(["X1", "Y1", "X2", "Y2", "X3", "Z"], 0) | totals
    assert result.outcome.totals == expected


def test_mas_madrid_block_vote_with_a_rank_gap_is_still_a_block():
    result = run(MAS_MADRID, [{"marks": [["Y1", 1], ["Y2", 3]]}])
    assert (result.outcome.totals["Y1"], result.outcome.totals["Y2"]) == (15, 10)


def test_mas_madrid_block_votes_can_decide_the_winner():
    # plain borda: X2 7 (3+2+2), Y1 6 (3+3); with the block vote Y1 gets 15 + 3.
    ballots = [marks("X2", "X1"), marks("X2", "Y1"), marks("Y1", "Y2"), marks("Y1", "X2")]
    assert run(MAS_MADRID | {"method": "borda"}, ballots).winners == ["X2"]
    result = run(MAS_MADRID, ballots)
    assert result.outcome.totals["Y1"] == 3 * 5 + 2 + 3 and result.winners == ["Y1"]


@pytest.mark.parametrize("value", [0, -1, "3", 2.5, True])
def test_a_bad_borda_max_points_is_refused(value):
    with pytest.raises(DefinitionError) as err:
        parse_contest(contest("borda", options={"borda_max_points": value}))
    assert err.value.field == "contest.options.borda_max_points"


@pytest.mark.parametrize("method", ["borda", "borda-nauru", "borda-mas-madrid"])
@pytest.mark.parametrize("rule", [{"overvote_rule": "exhaust-immediately"}, {"duplicate_candidate_rule": "skip"}])
def test_rules_that_keep_two_candidates_at_one_position_are_refused(method, rule):
    with pytest.raises(DefinitionError) as err:
        parse_contest(contest(method, options=rule))
    assert err.value.field == f"contest.options.{next(iter(rule))}"


@pytest.mark.parametrize("method", ["borda", "borda-nauru", "borda-mas-madrid"])
def test_registered_as_additive_preferential_rank_methods(method):
    m = METHODS[method]
    assert (m.mark_kind, m.preferential, m.additive) == ("rank", True, True)
    assert (m.contest_default, m.area_default) == ("process-ballots-all", "skip-candidate-results")


# Properties, on random profiles over five candidates, one of them in its own category.

IDS = "ABCDE"


@st.composite
def profiles(draw):
    n = draw(st.integers(1, 5))
    ids = IDS[:n]
    definition = contest(
        draw(st.sampled_from(["borda", "borda-nauru", "borda-mas-madrid"])),
        candidates=[{"id": c, "category": "team" if c in "AB" else None} for c in ids],
        seats=draw(st.integers(1, 6)),
        max_votes=draw(st.none() | st.integers(n, n + 2)),
    )
    orders = st.permutations(ids).flatmap(lambda p: st.integers(1, n).map(lambda k: "".join(p[:k])))
    ballots = draw(st.lists(st.tuples(orders, st.integers(1, 3)), max_size=20))
    return definition, [marks(*o, weight=w) for o, w in ballots]


@given(profile=profiles(), seed=st.integers(0, 2**16))
@SETTINGS
def test_ballot_and_mark_order_do_not_matter(profile, seed):
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


@given(profile=profiles(), cut=st.integers(0, 20))
@SETTINGS
def test_totals_of_two_halves_add_up_to_the_whole(profile, cut):
    definition, records = profile
    method, c = METHODS[definition["method"]], parse_contest(definition)
    halves = [classify(c, [(b, 1) for b in parse_ballots(part)]).valid for part in (records[:cut], records[cut:])]
    assert sum_totals([method.totals(c, half) for half in halves]) == run(definition, records).outcome.totals


@given(profile=profiles())
@SETTINGS
def test_winners_count_is_the_smaller_of_seats_and_candidates(profile):
    definition, records = profile
    result = run(definition, records)
    seats = min(definition["seats"], len(definition["candidates"])) if result.participation.valid else 0
    assert len(result.winners) == seats
    order = result.outcome.order
    totals = result.outcome.totals
    assert all(totals[a] >= totals[b] for a, b in zip(order, order[1:], strict=False))
    assert result.winners == order[: len(result.winners)]

