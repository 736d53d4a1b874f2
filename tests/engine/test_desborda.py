"""desborda, desborda2, desborda3: points, team guarantees and gender parity (counting.md)."""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counting import METHODS, DefinitionError, count, decide_totals, parse_ballots, parse_contest
from counting.ranking import CUTOFF_NOTE, sum_totals
from counting.validation import classify

SETTINGS = settings(max_examples=80, deadline=None)


def contest(method: str, candidates: list[dict], **fields) -> dict:
    return {"id": "t", "method": method, "candidates": candidates, **fields}


def team(name: str, size: int, genders: str = "") -> list[dict]:
    """Candidates name1..nameN of category `name`; genders[i] is the i-th's gender ("M"/"F"/"-" = none)."""
    genders = genders or "-" * size
    return [
        {"id": f"{name}{i + 1}", "category": name, "gender": None if g == "-" else g}
        for i, g in zip(range(size), genders, strict=False)
    ]


def ballot(*ids: str, weight: int = 1) -> dict:
    return {"marks": [[c, i + 1] for i, c in enumerate(ids)], "weight": weight}


def run(definition: dict, records: list[dict]):
    return count(parse_contest(definition), parse_ballots(records))


def single_votes(weights: dict[str, int]) -> list[dict]:
    """One-candidate ballots: with max_votes 1 each gives its candidate the top points x weight."""
    return [ballot(c, weight=w) for c, w in weights.items()]


# counting.md: desborda2, 4 seats, B = 4 so the scale starts at 5; 10 ballots A1>A2>A3>A4, 3 ballots B1>B2>B3>B4.
EXAMPLE = contest("desborda2", team("A", 4) + team("B", 4), seats=4, max_votes=4)
EXAMPLE_BALLOTS = [ballot("A1", "A2", "A3", "A4", weight=10), ballot("B1", "B2", "B3", "B4", weight=3)]


def test_desborda2_worked_example_team_b_is_guaranteed_two_seats():
    result = run(EXAMPLE, EXAMPLE_BALLOTS)
    assert result.outcome.totals == {"A1": 50, "A2": 40, "A3": 30, "A4": 20, "B1": 15, "B2": 12, "B3": 9, "B4": 6}
    out = result.to_json()
    assert out["winners"] == ["A1", "A2", "B1", "B2"]
    assert [c["id"] for c in out["candidates"]] == ["A1", "A2", "B1", "B2", "A3", "A4", "B3", "B4"]
    assert "Team B holds 23.0769% of points: guaranteed 2 seat(s)" in out["notes"]
    assert out["ties"] == []


def test_desborda3_counts_the_same_points_and_guarantees_nothing():
    result = run(EXAMPLE | {"method": "desborda3"}, EXAMPLE_BALLOTS)
    assert result.outcome.totals["A1"] == 50 and result.outcome.totals["B1"] == 15
    assert result.winners == ["A1", "A2", "A3", "A4"]
    assert result.to_json()["notes"] == []


def test_desborda_points_are_80_minus_the_position_never_below_1():
    ids = [f"c{i:02d}" for i in range(82)]
    result = run(contest("desborda", [{"id": c} for c in ids]), [ballot(*ids)])
    assert [result.outcome.totals[c] for c in ids] == list(range(80, 0, -1)) + [1, 1]


@pytest.mark.parametrize(
    "fields, points",
    [
        ({"max_votes": 3}, [3, 2, 1]),  # floor(1.3 x 3) = 3
        ({"max_votes": 4}, [5, 4, 3, 2]),  # floor(5.2) = 5
        ({"max_votes": 4, "options": {"borda_max_points": 10}}, [13, 12, 11, 10]),
        ({"max_votes": 4, "options": {"borda_max_points": 1}}, [1, 1, 1, 1]),  # floor(1.3) = 1, then never below 1
        ({}, [6, 5, 4, 3, 2]),  # B defaults to the candidate count, 5: floor(6.5) = 6
    ],
)
def test_desborda2_and_3_points_scale_from_floor_of_1_3_b(fields, points):
    ids = list("abcde"[: len(points)])
    for method in ("desborda2", "desborda3"):
        result = run(contest(method, [{"id": c} for c in "abcde"], **fields), [ballot(*ids)])
        assert [result.outcome.totals[c] for c in ids] == points


def test_a_gap_in_the_ranks_does_not_change_the_position():
    result = run(contest("desborda", [{"id": c} for c in "ABC"]), [{"marks": [["A", 1], ["B", 3]]}])
    assert result.outcome.totals == {"A": 80, "B": 79, "C": 0}


# desborda guarantees: > 15% of points -> 4 seats, > 5% -> 2. Ten seats; one-candidate ballots set the points.
THREE_TEAMS = team("A", 6) + team("B", 4) + team("C", 2)
THREE_TEAMS_POINTS = {"A1": 30, "A2": 28, "A3": 26, "A4": 24, "A5": 22, "A6": 20}
THREE_TEAMS_POINTS |= {"B1": 10, "B2": 9, "B3": 8, "B4": 7, "C1": 6, "C2": 5}  # A 150, B 34 (17.4%), C 11 (5.6%)


def test_desborda_guarantees_4_seats_above_15_percent_and_2_above_5_percent():
    definition = contest("desborda", THREE_TEAMS, seats=10, max_votes=1)
    result = run(definition, single_votes(THREE_TEAMS_POINTS))
    assert result.outcome.totals["A1"] == 30 * 80
    assert result.winners == ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "B4", "C1", "C2"]
    assert result.to_json()["notes"] == [
        "Team A holds 76.9231% of points: guaranteed 4 seat(s)",
        "Team B holds 17.4359% of points: guaranteed 4 seat(s)",
        "Team C holds 5.641% of points: guaranteed 2 seat(s)",
        "A5 passed over: electing them would leave 5 seat(s) for the guarantees still owed (team B 4, team C 2)",
        "A6 passed over: electing them would leave 5 seat(s) for the guarantees still owed (team B 4, team C 2)",
    ]


def test_the_same_points_without_guarantees_elect_the_top_ten():
    result = run(contest("desborda3", THREE_TEAMS, seats=10, max_votes=1), single_votes(THREE_TEAMS_POINTS))
    assert result.winners == ["A1", "A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3", "B4"]


def test_desborda2_with_29_seats_or_fewer_guarantees_2_above_20_percent_and_1_above_10_percent():
    result = run(contest("desborda2", THREE_TEAMS, seats=10, max_votes=1), single_votes(THREE_TEAMS_POINTS))
    assert result.winners == ["A1", "A2", "A3", "A4", "A5", "A6", "B1", "B2", "B3", "B4"]
    points = THREE_TEAMS_POINTS | {"B1": 1, "B2": 1, "B3": 1, "B4": 1, "C1": 12, "C2": 12}  # C 24/178 = 13.5%
    result = run(contest("desborda2", THREE_TEAMS, seats=6, max_votes=1), single_votes(points))
    assert result.winners == ["A1", "A2", "A3", "A4", "A5", "C1"]


@pytest.mark.parametrize("seats, b_winners", [(29, ["B1"]), (30, ["B1", "B2"])])
def test_desborda2_above_29_seats_uses_the_5_10_15_percent_scale(seats, b_winners):
    # A: 30 candidates with 101..130 points (3450); B: 6 with 100..95 (585, 14.5%: > 10%, not > 15%).
    a_points = {f"A{i + 1}": 101 + i for i in range(30)}
    b_points = {f"B{i + 1}": 100 - i for i in range(6)}
    definition = contest("desborda2", team("A", 30) + team("B", 6), seats=seats, max_votes=1)
    result = run(definition, single_votes(a_points | b_points))
    assert [w for w in result.winners if w.startswith("B")] == b_winners
    assert len(result.winners) == seats
    a_winners = [w for w in result.winners if w.startswith("A")]
    assert a_winners == sorted(a_points, key=a_points.get, reverse=True)[: seats - len(b_winners)]


def test_guarantee_thresholds_are_strict():
    # B holds exactly 20% (desborda2 -> only the 10% step: 1 seat) and C exactly 5% (desborda: nothing).
    candidates = team("A", 3) + team("B", 2) + team("C", 1)
    points = {"A1": 30, "A2": 25, "A3": 20, "B1": 10, "B2": 10, "C1": 5}  # total 100
    assert run(contest("desborda2", candidates, seats=3, max_votes=1), single_votes(points)).winners == [
        "A1",
        "A2",
        "B1",
    ]
    result = run(contest("desborda", candidates, seats=5, max_votes=1), single_votes(points))
    assert "C1" not in result.winners


def test_guarantees_beyond_the_seats_are_granted_one_seat_per_team_in_turn():
    # desborda, 3 seats: A (50 points) and B (40) are each owed 4: A gets the 1st and 3rd turn, B the 2nd.
    candidates = team("A", 4) + team("B", 4)
    points = {"A1": 20, "A2": 15, "A3": 10, "A4": 5, "B1": 19, "B2": 14, "B3": 4, "B4": 3}
    result = run(contest("desborda", candidates, seats=3, max_votes=1), single_votes(points))
    assert result.winners == ["A1", "B1", "A2"]
    assert result.to_json()["notes"] == [
        "Team A holds 55.5556% of points: guaranteed 2 seat(s)",
        "Team B holds 44.4444% of points: guaranteed 1 seat(s)",
    ]


def test_over_subscribed_guarantees_never_crowd_out_a_team_that_is_owed_a_seat():
    # desborda, 4 seats: all three teams hold > 15% (owed 4 each); turns A, B, C, A.
    candidates = team("A", 4) + team("B", 4) + team("C", 4)
    points = {"A1": 40, "A2": 39, "A3": 38, "A4": 37, "B1": 20, "B2": 19, "C1": 15, "C2": 14}
    result = run(contest("desborda", candidates, seats=4, max_votes=1), single_votes(points))
    assert result.winners == ["A1", "A2", "B1", "C1"]


def test_a_guarantee_is_a_minimum_a_team_can_win_more_on_points():
    candidates = team("A", 4) + team("B", 4)
    points = {"A1": 40, "A2": 39, "A3": 38, "A4": 37, "B1": 3, "B2": 2, "B3": 1, "B4": 1}
    result = run(contest("desborda2", candidates, seats=3, max_votes=1), single_votes(points))
    assert result.winners == ["A1", "A2", "A3"]


def test_candidates_without_a_category_are_no_team():
    candidates = [{"id": "X"}, {"id": "Y", "category": ""}] + team("A", 3)
    points = {"X": 10, "Y": 10, "A1": 50, "A2": 40, "A3": 30}
    result = run(contest("desborda2", candidates, seats=2, max_votes=1), single_votes(points))
    assert result.winners == ["A1", "A2"]
    assert result.to_json()["notes"] == ["Team A holds 85.7143% of points: guaranteed 2 seat(s)"]


# Gender parity: at most floor(N/2) men among N winners.


@pytest.mark.parametrize("man", ["M", "m", "male", "Male", "MAN", " man "])
def test_parity_passes_over_men_beyond_half_the_seats(man):
    candidates = [{"id": c, "gender": man} for c in ("M1", "M2", "M3")]
    candidates += [{"id": "W1", "gender": "F"}, {"id": "X1", "gender": "other"}, {"id": "N1"}]
    points = {"M1": 60, "M2": 50, "M3": 40, "W1": 30, "X1": 20, "N1": 10}
    result = run(contest("desborda3", candidates, seats=4, max_votes=1), single_votes(points))
    assert result.winners == ["M1", "M2", "W1", "X1"]
    assert result.to_json()["notes"] == [
        "M3 passed over: electing them would break gender parity (at most 2 men among 4 winners)"
    ]


def test_parity_with_an_odd_number_of_seats_allows_the_smaller_half():
    candidates = [{"id": "M1", "gender": "M"}, {"id": "M2", "gender": "M"}, {"id": "W1", "gender": "F"}]
    candidates += [{"id": "W2", "gender": "F"}]
    points = {"M1": 4, "M2": 3, "W1": 2, "W2": 1}
    assert run(contest("desborda3", candidates, seats=3, max_votes=1), single_votes(points)).winners == [
        "M1",
        "W1",
        "W2",
    ]


def test_seats_are_filled_and_noted_when_parity_cannot_be_met():
    candidates = [{"id": f"M{i}", "gender": "M"} for i in (1, 2, 3)] + [{"id": "W1", "gender": "F"}]
    points = {"M1": 4, "M2": 3, "M3": 2, "W1": 1}
    result = run(contest("desborda3", candidates, seats=4, max_votes=1), single_votes(points))
    assert result.winners == ["M1", "M2", "M3", "W1"]
    assert result.to_json()["notes"] == [
        "Gender parity not met (at most 2 men among 4 winners): 3 men elected, too few other candidates"
    ]


def test_parity_applies_to_guaranteed_seats_too():
    # As the worked example, but A1, A2 and B1 are men: A's guarantee takes A1, A2; B's then passes B1 over.
    candidates = team("A", 4, "MMFF") + team("B", 4, "MFFF")
    result = run(EXAMPLE | {"candidates": candidates}, EXAMPLE_BALLOTS)
    assert result.winners == ["A1", "A2", "B2", "B3"]
    assert result.to_json()["notes"][2:] == [
        "A3 passed over: electing them would leave 1 seat(s) for the guarantees still owed (team B 2)",
        "A4 passed over: electing them would leave 1 seat(s) for the guarantees still owed (team B 2)",
        "B1 passed over: electing them would break gender parity (at most 2 men among 4 winners) "
        "given the guarantees still owed (team B 1)",
    ]


def test_guaranteed_seats_go_to_the_teams_women_first_then_to_its_men():
    candidates = team("A", 4, "MMMF") + team("B", 4, "MMFF")
    result = run(EXAMPLE | {"candidates": candidates}, EXAMPLE_BALLOTS)
    assert result.winners == ["A1", "A2", "B3", "B4"]
    candidates = team("A", 4, "MMMM") + team("B", 4, "MMMM")
    result = run(EXAMPLE | {"candidates": candidates}, EXAMPLE_BALLOTS)
    assert result.winners == ["A1", "A2", "B1", "B2"]
    assert result.to_json()["notes"][-1].startswith("Gender parity not met")


# Selection with guarantees and parity together (counting.md, issue #15)


def test_worked_example_selection_meets_both_guarantees_and_parity():
    # desborda2, 2 seats: teams A (16%) and B (14%) are owed 1 seat each; at most 1 man. x1 and x2 cannot be
    # elected (one seat left could not meet two guarantees); a1 would leave b1, a man, as B's only way in.
    candidates = [{"id": "x1", "gender": "F"}, {"id": "x2", "gender": "F"},
                  {"id": "a1", "category": "A", "gender": "M"}, {"id": "b1", "category": "B", "gender": "M"},
                  {"id": "a2", "category": "A", "gender": "F"}]
    points = {"x1": 40, "x2": 30, "a1": 15, "b1": 14, "a2": 1}
    result = run(contest("desborda2", candidates, seats=2, max_votes=1), single_votes(points))
    assert result.winners == ["b1", "a2"]
    assert result.to_json()["notes"] == [
        "Team A holds 16% of points: guaranteed 1 seat(s)",
        "Team B holds 14% of points: guaranteed 1 seat(s)",
        "x1 passed over: electing them would leave 1 seat(s) for the guarantees still owed (team A 1, team B 1)",
        "x2 passed over: electing them would leave 1 seat(s) for the guarantees still owed (team A 1, team B 1)",
        "a1 passed over: electing them would break gender parity (at most 1 man among 2 winners) "
        "given the guarantees still owed (team B 1)",
    ]


def test_guarantees_go_before_parity_which_is_kept_as_far_as_they_allow():
    # desborda2, 3 seats: teams A and B (one man each) are owed a seat each, so the winners need 2 men where
    # parity allows 1 (and without the guarantees, w1 and w2 would let it hold). The guarantees are met; m1, a
    # third man, is still passed over for w1.
    candidates = [{"id": "m1", "gender": "M"}, {"id": "a1", "category": "A", "gender": "M"},
                  {"id": "b1", "category": "B", "gender": "M"}, {"id": "w1", "gender": "F"}, {"id": "w2", "gender": "F"}]
    points = {"m1": 50, "a1": 25, "b1": 15, "w1": 10, "w2": 5}
    result = run(contest("desborda2", candidates, seats=3, max_votes=1), single_votes(points))
    assert result.winners == ["a1", "b1", "w1"]
    assert result.to_json()["notes"][2:] == [
        "m1 passed over: electing them would break gender parity (at most 2 men among 3 winners) "
        "given the guarantees still owed (team A 1, team B 1)",
        "Gender parity not met (at most 1 man among 3 winners): 2 men elected, the team guarantees need them",
    ]


def meets(winners, owed: dict, men: set, seats: int) -> bool:
    return len(set(winners) & men) <= seats // 2 and all(
        len(set(winners) & set(members)) >= need for members, need in owed.values())


# Ties


def test_a_tie_decided_by_the_tie_order_is_recorded():
    candidates = [{"id": c} for c in "ABC"]
    result = run(contest("desborda3", candidates, seats=2, max_votes=1), single_votes({"A": 10, "B": 5, "C": 5}))
    out = result.to_json()
    assert out["winners"] == ["A", "B"]
    assert out["ties"] == [
        {"round": None, "purpose": "cutoff", "candidates": ["B", "C"], "chosen": ["B"], "rule": "candidate-id-asc"}
    ]
    assert out["notes"] == [CUTOFF_NOTE]


def test_a_tie_the_tie_order_did_not_decide_is_not_recorded():
    candidates = [{"id": "A", "gender": "M"}, {"id": "B", "gender": "M"}, {"id": "C", "gender": "F"}]
    result = run(contest("desborda3", candidates, seats=2, max_votes=1), single_votes({"A": 10, "B": 5, "C": 5}))
    assert result.winners == ["A", "C"]
    assert result.to_json()["ties"] == []


def test_tie_break_order_option_decides_a_tie():
    candidates = [{"id": c} for c in "ABC"]
    definition = contest("desborda", candidates, seats=2, max_votes=1, options={"tie_break_order": ["C", "B", "A"]})
    result = run(definition, single_votes({"A": 10, "B": 5, "C": 5}))
    assert result.winners == ["A", "C"]
    assert result.to_json()["ties"][0]["rule"] == "tie-break-order"


def test_undeclared_write_ins_are_never_elected():
    candidates = [{"id": "W", "undeclared_write_in": True}, {"id": "A"}, {"id": "B"}]
    result = run(contest("desborda3", candidates, seats=2, max_votes=1), single_votes({"W": 9, "A": 5, "B": 1}))
    assert result.winners == ["A", "B"]
    assert result.outcome.order == ["A", "B", "W"]


@pytest.mark.parametrize("value", [0, "4", True])
def test_a_bad_borda_max_points_is_refused(value):
    with pytest.raises(DefinitionError) as err:
        parse_contest(contest("desborda2", [{"id": "A"}], options={"borda_max_points": value}))
    assert err.value.field == "contest.options.borda_max_points"


@pytest.mark.parametrize("method", ["desborda", "desborda2", "desborda3"])
def test_registered_as_additive_preferential_rank_methods(method):
    m = METHODS[method]
    assert (m.mark_kind, m.preferential, m.additive) == ("rank", True, True)
    with pytest.raises(DefinitionError):
        parse_contest(contest(method, [{"id": "A"}], options={"overvote_rule": "always-skip-to-next-rank"}))


# Properties on random contests: up to 10 candidates in teams T1, T2 (or none), of either gender.

GUARANTEES = {  # counting.md's tables: (share of points to exceed, seats)
    "desborda": [(Fraction(15, 100), 4), (Fraction(5, 100), 2)],
    "desborda2": [(Fraction(20, 100), 2), (Fraction(10, 100), 1)],  # 29 seats or fewer
    "desborda3": [],
}


@st.composite
def profiles(draw):
    n = draw(st.integers(1, 10))
    ids = [f"c{i}" for i in range(n)]
    candidates = [
        {
            "id": c,
            "category": draw(st.sampled_from(["T1", "T2", None])),
            "gender": draw(st.sampled_from(["M", "F", "male", None])),
        }
        for c in ids
    ]
    definition = contest(
        draw(st.sampled_from(sorted(GUARANTEES))),
        candidates,
        seats=draw(st.integers(1, 12)),
        max_votes=draw(st.none() | st.integers(1, n)),
    )
    k = definition["max_votes"] or n
    orders = st.permutations(ids).flatmap(lambda p: st.integers(1, k).map(lambda j: p[:j]))
    ballots = draw(st.lists(st.tuples(orders, st.integers(1, 3)), max_size=15))
    return definition, [ballot(*o, weight=w) for o, w in ballots]


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
    whole, split = run(definition, records).to_json(), run(definition, unrolled).to_json()
    for out in (whole, split):
        out["extended_metrics"].pop("total_ballots")
    assert whole == split


@given(profile=profiles(), cut=st.integers(0, 15))
@SETTINGS
def test_totals_of_two_halves_decide_as_the_whole(profile, cut):
    definition, records = profile
    method, c = METHODS[definition["method"]], parse_contest(definition)
    halves = [classify(c, [(b, 1) for b in parse_ballots(part)]).valid for part in (records[:cut], records[cut:])]
    whole = run(definition, records).outcome
    valid_votes = sum(sum(half.values()) for half in halves)
    decided = decide_totals(c, sum_totals([method.totals(c, half) for half in halves]), valid_votes)
    assert (decided.totals, decided.winners, decided.ties, decided.notes) == (
        whole.totals,
        whole.winners,
        whole.ties,
        whole.notes,
    )


@given(profile=profiles())
@SETTINGS
def test_winners_count_is_the_smaller_of_seats_and_candidates(profile):
    definition, records = profile
    result = run(definition, records)
    seats = min(definition["seats"], len(definition["candidates"])) if result.participation.valid else 0
    assert len(result.winners) == len(set(result.winners)) == seats
    totals, order = result.outcome.totals, result.outcome.order
    assert sorted(order) == sorted(c["id"] for c in definition["candidates"])
    assert all(totals[a] >= totals[b] for a, b in zip(result.winners, result.winners[1:], strict=False))


@given(profile=profiles())
@SETTINGS
def test_team_guarantees_are_honoured_when_the_seats_allow(profile):
    definition, records = profile
    result = run(definition, records)
    totals, candidates = result.outcome.totals, definition["candidates"]
    whole = sum(totals.values())
    teams = {c["category"] for c in candidates if c["category"]}
    owed = {}
    for t in teams:
        members = [c["id"] for c in candidates if c["category"] == t]
        points = sum(totals[m] for m in members)
        seats = next((s for share, s in GUARANTEES[definition["method"]] if points > share * whole), 0)
        owed[t] = (members, min(seats, len(members)))
    if sum(s for _, s in owed.values()) <= definition["seats"]:
        for members, seats in owed.values():
            assert len(set(members) & set(result.winners)) >= seats


@given(profile=profiles())
@SETTINGS
def test_at_most_half_the_winners_are_men_when_no_guarantee_forces_more(profile):
    definition, records = profile
    definition = definition | {"method": "desborda3"}
    result = run(definition, records)
    is_man = {c["id"]: (c["gender"] or "").lower() in ("m", "male") for c in definition["candidates"]}
    n = len(result.winners)
    if sum(not man for man in is_man.values()) >= n - n // 2:
        assert sum(is_man[w] for w in result.winners) <= n // 2


@st.composite
def contested_seats(draw):
    """Few seats, teams of a few men and women, and points set directly (one-candidate ballots): the shapes
    where guarantees and parity pull against each other."""
    n = draw(st.integers(2, 8))
    candidates = [
        {"id": f"c{i}", "category": draw(st.sampled_from(["A", "B", "C", None])), "gender": draw(st.sampled_from("MF"))}
        for i in range(n)
    ]
    definition = contest(draw(st.sampled_from(["desborda", "desborda2"])), candidates,
                         seats=draw(st.integers(1, 5)), max_votes=1)
    points = {c["id"]: draw(st.integers(0, 50)) for c in candidates}
    return definition, single_votes({c: w for c, w in points.items() if w})


@given(profile=profiles() | contested_seats())
@settings(max_examples=600, deadline=None)
def test_when_some_selection_meets_every_guarantee_and_parity_the_winners_do(profile):
    definition, records = profile
    result = run(definition, records)
    if not result.participation.valid:
        assert result.winners == []  # no valid votes: nobody is elected, whatever a selection would meet
        return
    totals, candidates = result.outcome.totals, definition["candidates"]
    whole = sum(totals.values())
    seats = min(definition["seats"], len(candidates))
    owed = {}
    for t in {c["category"] for c in candidates if c["category"]}:
        members = [c["id"] for c in candidates if c["category"] == t]
        points = sum(totals[m] for m in members)
        need = next((s for share, s in GUARANTEES[definition["method"]] if points > share * whole), 0)
        owed[t] = (members, min(need, len(members)))
    if sum(need for _, need in owed.values()) > seats:
        return  # over-subscribed: granted in turn (the examples above)
    men = {c["id"] for c in candidates if (c["gender"] or "").lower() in ("m", "male")}
    order = sorted(totals, key=lambda c: (-totals[c], c))  # points, then ids ascending (the default tie order)
    feasible = [w for w in combinations(order, seats) if meets(w, owed, men, seats)]  # in points order
    if feasible:
        assert meets(result.winners, owed, men, seats)
        assert result.winners == list(min(feasible, key=lambda w: [order.index(c) for c in w]))
