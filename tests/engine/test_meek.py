"""Meek STV: counting.md's six worked examples, the audit's cases (issue #15), the rules around them, and
properties over random elections."""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counting import Ballot, Candidate, Contest, CountingError, DefinitionError, ExclusionGroup, count, decide
from counting.definition import check_contest
from counting.methods import meek
from counting.methods.meek import MAX_PASSES_PER_PHASE, TIE, droop_quota
from counting.outcome import NO_VALID_VOTES

# ---------------------------------------------------------------------------------------------- helpers


def contest(candidates, seats=1, groups=(), keys=None, **kw) -> Contest:
    """A meek-stv contest; `groups` are (members, max_elected), `keys` candidate id -> tie_break_key."""
    keys = keys or {}
    if isinstance(candidates, str) and " " in candidates:
        candidates = candidates.split()
    return Contest(
        id="t",
        method="meek-stv",
        candidates=tuple(Candidate(c, tie_break_key=keys.get(c)) for c in candidates),
        seats=seats,
        exclusion_groups=tuple(
            ExclusionGroup(f"g{i}", tuple(members), limit) for i, (members, limit) in enumerate(groups)
        ),
        **kw,
    )


def marks(ranking: str, step: int = 1) -> tuple:
    """"A>B>C" as canonical marks; `step` > 1 leaves gaps between the ranks."""
    return tuple((c, 1 + i * step) for i, c in enumerate(ranking.split(">")) if c)


def ballots(*spec: tuple[int, str]) -> Counter:
    """(weight, "A>B>C") pairs as the weighted multiset the method receives."""
    out: Counter = Counter()
    for weight, ranking in spec:
        out[marks(ranking)] += weight
    return out


def exact_sum(values) -> Fraction:
    """Sum without the global 28-digit context rounding the 80-digit tallies."""
    return sum((Fraction(v) for v in values), Fraction(0))


def eliminated(outcome) -> list[str]:
    return [c for r in outcome.rounds for c in r.eliminated]


def excluded(outcome) -> list[str]:
    return [c for r in outcome.rounds for c in r.details["excluded"]]


def ties(outcome) -> list[tuple]:
    return [(t.purpose, t.candidates, t.chosen, t.rule, t.round) for t in outcome.ties]


# ---------------------------------------------------------------------------------------------- examples

FRUIT = "Orange Pear Strawberry Cake Chocolate Hamburger Chicken"
EXAMPLE_1 = ballots(
    (3, "Orange>Pear"),
    (8, "Pear>Strawberry>Cake"),
    (1, "Strawberry>Orange>Pear"),
    (3, "Cake>Chocolate"),
    (1, "Chocolate>Cake>Hamburger"),
    (4, "Hamburger>Chicken"),
    (3, "Chicken>Chocolate>Hamburger"),
)


def test_example_1_wikipedia_food_election():
    outcome = decide(contest(FRUIT, seats=3), EXAMPLE_1)
    assert outcome.quota == 6  # floor(23 / 4) + 1
    assert outcome.winners == ["Pear", "Cake", "Hamburger"]
    first = outcome.rounds[0]
    assert first.elected == ["Pear"]
    assert first.details["keep_factors"]["Pear"] == "0.75"
    assert eliminated(outcome) == ["Chocolate", "Strawberry", "Chicken"]
    # Strawberry ties with Orange and Chicken at 3: same in the converged pass, first preferences 1 < 3.
    strawberry_round = next(r for r in outcome.rounds if r.eliminated == ["Strawberry"])
    assert strawberry_round.tallies["Strawberry"] == strawberry_round.tallies["Orange"] == 3
    assert ties(outcome) == [
        ("eliminate", ["Orange", "Strawberry", "Chicken"], ["Strawberry"], "first-preferences", strawberry_round.round)
    ]
    assert outcome.order[:3] == ["Pear", "Cake", "Hamburger"]
    assert sorted(outcome.order) == sorted(FRUIT.split())


def test_example_2_surplus_free_election_then_elimination():
    outcome = decide(contest("ABC", seats=2), ballots((3, "A>B>C"), (2, "B>A>C"), (1, "C>B>A")))
    assert outcome.quota == 3
    assert outcome.rounds[0].elected == ["A"]
    assert eliminated(outcome) == ["C"]
    assert outcome.winners == ["A", "B"]
    assert outcome.ties == []


def test_example_3_keep_factor_one_half():
    outcome = decide(contest("AB", seats=2), ballots((4, "A>B"), (1, "B>A")))
    assert outcome.quota == 2
    assert outcome.rounds[0].details["keep_factors"]["A"] == "0.5"
    assert outcome.winners == ["A", "B"]


def test_example_4_group_limit_excludes_the_tied_partner():
    spec = ballots((3, "A>B>C"), (3, "B>A>C"))
    keys = {"A": 1, "B": 2}
    outcome = decide(contest("ABC", seats=2, groups=[("AB", 1)], keys=keys), spec)
    assert outcome.quota == 3
    assert outcome.winners == ["B", "C"]
    assert excluded(outcome) == ["A"]
    assert outcome.rounds[0].tallies["C"] == 0  # C fills the seat with no votes of its own
    assert ties(outcome) == [("elect", ["A", "B"], ["B"], "tie-break-key", 1)]

    without_group = decide(contest("ABC", seats=2, keys=keys), spec)
    assert without_group.winners == ["B", "A"]
    assert ties(without_group) == [("elect", ["A", "B"], ["B"], "tie-break-key", 1)]


def test_example_4_lower_key_for_b_elects_a():
    outcome = decide(
        contest("ABC", seats=2, groups=[("AB", 1)], keys={"A": 5, "B": 2}), ballots((3, "A>B>C"), (3, "B>A>C"))
    )
    assert outcome.winners == ["A", "C"]


def test_example_5_three_way_tie_broken_by_first_preferences():
    outcome = decide(
        contest("ABCD", seats=2), ballots((1, "A>B>C"), (2, "B>A>C"), (3, "C>A>B"), (3, "D>B>C"))
    )
    assert outcome.quota == 4
    assert eliminated(outcome) == ["A", "B"]
    second = outcome.rounds[1]
    assert second.tallies == {"B": 3, "C": 3, "D": 3}
    assert ties(outcome) == [("eliminate", ["B", "C", "D"], ["B"], "first-preferences", 2)]
    third = outcome.rounds[2]
    assert third.tallies["C"] == 6
    assert third.elected == ["C", "D"]
    assert outcome.winners == ["C", "D"]


def test_example_6_seed_defect_group_limit_honoured_and_no_seat_vacant():
    spec = Counter({marks("A"): 2, marks("B"): 2, marks("C"): 1, marks("D"): 1})
    outcome = decide(contest("ABCD", seats=2, groups=[("AB", 1)]), spec)
    assert outcome.quota == 3
    assert len(outcome.winners) == 2
    assert len({"A", "B"} & set(outcome.winners)) == 1
    # C and D tie for fewest; nothing separates them but the tie order (ids ascending: D loses).
    # Then A, B and C hold exactly two electable places: A (tie order again) and C.
    assert outcome.winners == ["A", "C"]
    assert eliminated(outcome) == ["D"]
    assert excluded(outcome) == ["B"]
    assert ties(outcome) == [
        ("eliminate", ["C", "D"], ["D"], "candidate-id-asc", 1),
        ("elect", ["A", "B"], ["A"], "candidate-id-asc", 2),
    ]


# ---------------------------------------------------------------------------------------------- the rules


def test_droop_quota():
    assert droop_quota(23, 3) == 6
    assert droop_quota(0, 1) == 1
    assert droop_quota(1_000_000, 3) == 250_001


def test_rounds_carry_keep_factors_exclusions_and_convergence():
    outcome = decide(contest(FRUIT, seats=3), EXAMPLE_1)
    for r in outcome.rounds:
        assert set(r.details) == {"keep_factors", "excluded", "converged", "ended_by"}
        assert set(r.details["keep_factors"]) == set(FRUIT.split())
        assert r.threshold == 6
        assert all(isinstance(v, Decimal) for v in r.tallies.values())
        # every unit of weight is kept by someone or exhausted
        assert exact_sum([*r.tallies.values(), r.exhausted]) == 23
    assert [r.details["converged"] for r in outcome.rounds] == [False, True, True, False, True, False]
    # Chocolate (1) and Chicken (3) are more than the elected's surplus below the next hopeful: eliminated by the
    # surplus bound; Strawberry ties with Orange and Chicken, so its phase waits for convergence.
    assert [r.details["ended_by"] for r in outcome.rounds] == [
        "quota", "surplus-bound", "convergence", "quota", "surplus-bound", "quota"]
    # eliminated candidates keep nothing
    assert outcome.rounds[-1].details["keep_factors"]["Chocolate"] == 0


def test_keep_factors_keep_all_80_digits():
    outcome = decide(contest("ABCD", seats=2), ballots((1, "A>B>C"), (2, "B>A>C"), (3, "C>A>B"), (3, "D>B>C")))
    factor = outcome.rounds[-1].details["keep_factors"]["C"]  # 4 / 6
    assert factor == "0." + "6" * 79 + "7"


def test_surplus_flowing_between_winners_elects_the_next():
    # T = 15, quota 4. A 6 and B 5 are elected in pass 1; their surpluses flow to each other and on to C,
    # whose 2 votes grow pass by pass until C reaches the quota in pass 3.
    outcome = decide(contest("ABCD", seats=3), ballots((6, "A>B>C"), (5, "B>A>C"), (2, "C>D"), (2, "D>C")))
    assert outcome.quota == 4
    assert [r.elected for r in outcome.rounds] == [["A", "B"], [], ["C"]]
    assert outcome.winners == ["A", "B", "C"]
    factors = outcome.rounds[1].details["keep_factors"]
    assert factors["A"] == factors["B"] == "0." + "571428" * 13 + "57"  # 4/7 both, to 80 digits
    assert outcome.rounds[2].tallies["C"] >= 4


# ---------------------------------------------------------------------------------------------- issue #15

AUDIT_KEYS = dict(A=4, B=3, C=8, D=7, E=5, F=2, G=6, H=1)
AUDIT_TIE = ballots(
    (1, "D>G>H>B>C>F"), (1, "A>F>G>B>D>E>H"), (1, "A>D>H>F>E>G"), (1, "E>A"), (1, "G>C>E>A>B>H>F"),
    (1, "D>H>E>G"), (1, "G>C>B>F"), (1, "D"), (1, "A>H>B>F>E>D>C"), (1, "E>H>G>B>A"),
)


def test_totals_closer_than_1e_20_are_a_tie_decided_by_the_tie_rules():
    # After B is eliminated C and F both tend to exactly 1/3; their 80-digit totals differ in the last digits
    # (iteration noise). That is a tie: nothing but the keys separates them, and F (key 2 < 8) goes.
    outcome = decide(contest("ABCDEFGH", seats=6, keys=AUDIT_KEYS), AUDIT_TIE)
    assert sorted(outcome.winners) == ["A", "C", "D", "E", "G", "H"]
    assert eliminated(outcome) == ["B", "F"]
    f_round = next(r for r in outcome.rounds if r.eliminated == ["F"])
    assert abs(f_round.tallies["C"] - Decimal(1) / 3) < TIE and abs(f_round.tallies["F"] - Decimal(1) / 3) < TIE
    assert f_round.details["ended_by"] == "convergence"
    assert ("eliminate", ["C", "F"], ["F"], "tie-break-key", f_round.round) in ties(outcome)


@pytest.mark.parametrize("scale, gap_is_a_tie", [(10**21, False), (10**22, True)])
def test_1e_20_separates_a_difference_from_a_tie(scale, gap_is_a_tie):
    # 2 seats. A holds `scale` votes, D and E 45 and 46 fewer, so the quota is scale - 29 and A's surplus of 29
    # passes 29/scale a vote on: B gets it once (A>B), C twice (A>C x2). B and C are the lowest hopefuls, C
    # ahead by 29/scale: 2.9e-20 is a difference (B goes, no tie); 2.9e-21 is a tie, which the tie order
    # decides (ids ascending: C goes).
    spec = ballots((scale - 3, "A"), (1, "A>B"), (2, "A>C"), (scale - 45, "D"), (scale - 46, "E"), (1, "B"), (1, "C"))
    outcome = decide(contest("ABCDE", seats=2), spec)
    assert outcome.quota == scale - 29
    first_out = next(r for r in outcome.rounds if r.eliminated)
    gap = first_out.tallies["C"] - first_out.tallies["B"]
    assert gap == Decimal(29) / scale
    if gap_is_a_tie:
        assert first_out.eliminated == ["C"]
        assert ties(outcome)[0] == ("eliminate", ["B", "C"], ["C"], "candidate-id-asc", first_out.round)
    else:
        assert first_out.eliminated == ["B"]
        assert outcome.ties == []


def test_mutual_surpluses_complete_and_each_round_says_what_ended_its_phase():
    # Keep factors converge at a ratio of about 0.94 a pass (about 1,400 passes to move less than 1e-40), but
    # A's and B's surplus soon falls below the gap of 1 between C and D: D is eliminated by the surplus bound.
    spec = ballots((1001, "A>B"), (1001, "B>A"), (998, "C"), (997, "D"))
    outcome = decide(contest("ABCD", seats=3), spec)
    assert outcome.winners == ["A", "B", "C"]
    assert outcome.rounds[0].elected == ["A", "B"]
    ended = [(r.round, r.details["ended_by"]) for r in outcome.rounds if r.details["ended_by"]]
    d_round = next(r for r in outcome.rounds if r.eliminated == ["D"])
    assert ended == [(1, "quota"), (d_round.round, "surplus-bound"), (d_round.round + 1, "seats-filled")]
    assert all(r.details["ended_by"] is None for r in outcome.rounds[1 : d_round.round - 1])
    surplus = sum(d_round.tallies[c] - outcome.quota for c in "AB")
    assert 0 < surplus < d_round.tallies["C"] - d_round.tallies["D"] == 1
    assert not d_round.details["converged"]


def test_convergence_ends_a_phase_when_the_surplus_bound_cannot():
    # C and D tie for fewest, so no gap bounds the surplus: the phase runs until the keep factors settle.
    spec = ballots((1001, "A>B"), (1001, "B>A"), (998, "C"), (998, "D"))
    outcome = decide(contest("ABCD", seats=3), spec)
    converged = next(r for r in outcome.rounds if r.eliminated)
    assert converged.details["ended_by"] == "convergence" and converged.details["converged"]
    assert converged.round > 1000  # the slow mutual surplus, run to 1e-40
    assert outcome.winners == ["A", "B", "C"]  # the tie: first preferences equal, ids ascending, D goes
    assert ties(outcome)[-1] == ("eliminate", ["C", "D"], ["D"], "candidate-id-asc", converged.round)


def test_a_phase_longer_than_the_pass_limit_is_an_error(monkeypatch):
    monkeypatch.setattr(meek, "MAX_PASSES_PER_PHASE", 50)
    spec = ballots((1001, "A>B"), (1001, "B>A"), (998, "C"), (998, "D"))
    with pytest.raises(CountingError, match=r"did not converge.*after 50 passes"):
        decide(contest("ABCD", seats=3), spec)
    assert MAX_PASSES_PER_PHASE == 100_000


def test_candidates_filling_the_seats_are_elected_after_the_transfer_by_those_totals():
    # 2 seats, quota floor(95 / 3) + 1 = 32. S, R, Q, P and C go in turn. Before C's transfer A (30) leads
    # B (25); C's 6 transferable votes bring B to 31. A and B now exactly fill the seats, below the quota:
    # they are elected in the pass after the transfer, by its totals: B, then A.
    spec = ballots((30, "A"), (25, "B"), (6, "C>B"), (4, "C"), (9, "P"), (8, "Q"), (7, "R"), (6, "S"))
    outcome = decide(contest("A B C P Q R S", seats=2), spec)
    assert outcome.quota == 32
    assert eliminated(outcome) == ["S", "R", "Q", "P", "C"]
    last = outcome.rounds[-1]
    assert last.tallies == {"A": 30, "B": 31}
    assert last.elected == ["B", "A"] and last.details["ended_by"] == "seats-filled"
    assert outcome.winners == ["B", "A"]


def test_the_surplus_bound_never_eliminates_a_candidate_with_a_place_of_its_own():
    # Found by the property test below. 5 seats, A and B in a group of 1: after E, C and D are elected the
    # electable places (F, and one of A/B) equal the 2 seats left. F has no votes, and the surplus bound alone
    # would eliminate it as lowest, leaving a seat vacant; instead the group chooses on settled totals and
    # F takes its place.
    spec = ballots((2, "C"), (1, "C>E>A"), (4, "E>D"), (1, "B"))
    outcome = decide(contest("ABCDEF", seats=5, groups=[("AB", 1)]), spec)
    assert outcome.winners == ["E", "C", "D", "B", "F"]
    assert eliminated(outcome) == []


DYNAMIC = {"quota": "droop-dynamic"}


def test_dynamic_quota_is_recomputed_each_pass_from_the_votes_not_exhausted():
    spec = ballots((4, "A"), (2, "A>D>B"), (2, "B"), (1, "D"))
    fixed = decide(contest("ABD", seats=2), spec)
    assert fixed.quota == 4 and fixed.winners == ["A", "B"]
    dynamic = decide(contest("ABD", seats=2, options=DYNAMIC), spec)
    for r in dynamic.rounds:
        assert abs(Fraction(r.threshold) - (9 - Fraction(r.exhausted)) / 3) < Fraction(1, 10**78)
    assert dynamic.rounds[0].threshold == 3 and dynamic.rounds[1].exhausted == 2
    assert dynamic.winners == ["A", "D"]
    assert dynamic.quota == dynamic.rounds[-1].threshold


def test_dynamic_quota_must_be_exceeded():
    # Three candidates with 2 votes each, 2 seats: the dynamic quota is exactly 2, which nobody exceeds.
    spec = ballots((2, "A"), (2, "B"), (2, "C"))
    outcome = decide(contest("ABC", seats=2, options=DYNAMIC), spec)
    assert outcome.rounds[0].threshold == 2 and outcome.rounds[0].elected == []
    assert outcome.winners == ["A", "B"]  # C, lowest by the tie order, goes; A and B fill the seats


@pytest.mark.parametrize("value", ["hare", "", 1, None])
def test_an_unknown_quota_is_refused(value):
    with pytest.raises(DefinitionError) as err:
        check_contest(contest("ABC", options={"quota": value}))
    assert err.value.field == "contest.options.quota"


def test_quota_option_defaults_to_droop_computed_once():
    spec = ballots((4, "A"), (2, "A>D>B"), (2, "B"), (1, "D"))
    assert decide(contest("ABD", seats=2, options={"quota": "droop"}), spec) == decide(contest("ABD", seats=2), spec)


def test_more_seats_than_candidates_elects_everyone():
    outcome = decide(contest("ABC", seats=5), ballots((3, "A>B"), (1, "C")))
    assert sorted(outcome.winners) == ["A", "B", "C"]
    assert len(outcome.rounds) == 1


def test_no_ballots_elect_nobody():
    outcome = decide(contest("ABC", seats=1), Counter())
    assert outcome.quota is None and outcome.rounds == [] and outcome.ties == []
    assert outcome.winners == [] and outcome.order == ["A", "B", "C"]
    assert outcome.notes == [NO_VALID_VOTES]


def test_tie_break_order_option_replaces_id_order():
    spec = Counter({marks("A"): 1, marks("B"): 1})
    outcome = decide(contest("AB", seats=1, options={"tie_break_order": ["B", "A"]}), spec)
    assert outcome.winners == ["B"]  # A, least favoured, is eliminated
    assert ties(outcome) == [("eliminate", ["A", "B"], ["A"], "tie-break-order", 1)]


def test_key_rule_needs_a_key_for_every_tied_candidate():
    spec = Counter({marks("A"): 1, marks("B"): 1, marks("C"): 1})
    # B has the highest key, but C has none: the tie order (ids ascending) decides, C goes first.
    outcome = decide(contest("ABC", seats=2, keys={"A": 1, "B": 9}), spec)
    assert ties(outcome)[0] == ("eliminate", ["A", "B", "C"], ["C"], "candidate-id-asc", 1)
    # With keys for all, the lowest key goes.
    outcome = decide(contest("ABC", seats=2, keys={"A": 1, "B": 9, "C": 5}), spec)
    assert ties(outcome)[0] == ("eliminate", ["A", "B", "C"], ["A"], "tie-break-key", 1)


def test_previous_pass_breaks_an_election_tie():
    # T = 11, 3 seats, quota 3. Pass 1: A 6 is elected (keep 1/2); X 2, Y 1, Z 2.
    # Pass 2: A's surplus gives X 1 and Y 2, so both reach 3 together; X had more in pass 1 and goes first.
    spec = ballots((2, "A>X"), (4, "A>Y"), (2, "X"), (1, "Y"), (2, "Z"))
    outcome = decide(contest("AXYZ", seats=3), spec)
    assert outcome.quota == 3
    assert outcome.rounds[1].tallies["X"] == outcome.rounds[1].tallies["Y"] == 3
    assert outcome.winners == ["A", "X", "Y"]
    assert ties(outcome) == [("elect", ["X", "Y"], ["X"], "previous-pass", 2)]
    # With X and Y in one group of one, the tie decides who is elected; Z takes the last place.
    grouped = decide(contest("AXYZ", seats=3, groups=[("XY", 1)]), spec)
    assert grouped.winners == ["A", "X", "Z"]
    assert excluded(grouped) == ["Y"]


def test_undeclared_write_in_is_never_elected():
    c = Contest(
        id="t",
        method="meek-stv",
        candidates=(Candidate("A"), Candidate("B"), Candidate("W", undeclared_write_in=True)),
        seats=1,
    )
    outcome = decide(c, ballots((5, "W>B"), (3, "A")))
    assert outcome.winners == ["B"]
    assert "W" not in outcome.rounds[0].tallies
    assert outcome.order[-1] == "W"
    assert outcome.notes and "W" in outcome.notes[0]


def test_overlapping_groups_are_refused():
    c = contest("ABC", seats=2, groups=[("AB", 1), ("BC", 1)])
    with pytest.raises(DefinitionError) as err:
        check_contest(c)
    assert err.value.field == "contest.exclusion_groups[1].members"
    assert "'B'" in err.value.message


@pytest.mark.parametrize(
    "option, value",
    [
        ("overvote_rule", "always-skip-to-next-rank"),
        ("duplicate_candidate_rule", "skip"),
        ("max_skipped_ranks", 1),
        ("batch_elimination", True),
    ],
)
def test_instant_runoff_options_are_refused(option, value):
    with pytest.raises(DefinitionError) as err:
        check_contest(contest("ABC", options={option: value}))
    assert err.value.field == f"contest.options.{option}"


def test_instant_runoff_option_defaults_are_accepted():
    check_contest(contest("ABC", options={"overvote_rule": "invalidate-ballot", "tie_break_order": ["C"]}))


def test_full_count_through_the_engine_and_json():
    ballots_cast = [
        Ballot(marks=marks("A>B")),
        Ballot(marks=marks("B>A"), weight=2),
        Ballot(marks=(), explicit_invalid=True),
    ]
    result = count(contest("AB", seats=1), ballots_cast)
    data = json.loads(json.dumps(result.to_json()))
    assert data["winners"] == ["B"]
    assert data["quota"] == 2
    assert data["rounds"][0]["keep_factors"] == {"A": 1, "B": 1}
    assert data["rounds"][0]["converged"] is False


# ---------------------------------------------------------------------------------------------- properties

IDS = "ABCDEF"


@st.composite
def elections(draw):
    """A small meek-stv contest (disjoint groups, some tie-break keys) and its weighted ballots."""
    n = draw(st.integers(2, 6))
    ids = IDS[:n]
    seats = draw(st.integers(1, n + 1))
    keys = draw(st.lists(st.one_of(st.none(), st.integers(0, 3)), min_size=n, max_size=n))
    labels = draw(st.lists(st.sampled_from([None, 0, 1]), min_size=n, max_size=n))
    groups = []
    for label in (0, 1):
        members = "".join(c for c, lab in zip(ids, labels, strict=True) if lab == label)
        if members:
            groups.append((members, draw(st.integers(1, len(members)))))
    c = contest(ids, seats=seats, groups=groups, keys=dict(zip(ids, keys, strict=True)))
    spec = Counter()
    for _ in range(draw(st.integers(0, 12))):
        order = draw(st.permutations(ids))
        length = draw(st.integers(1, n))
        spec[marks(">".join(order[:length]))] += draw(st.integers(1, 5))
    return c, spec


def eligible_places(c: Contest) -> int:
    grouped = {m for g in c.exclusion_groups for m in g.members}
    return len([x for x in c.candidate_ids if x not in grouped]) + sum(g.max_elected for g in c.exclusion_groups)


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(elections())
def test_winners_seats_groups_and_vacancies(election):
    c, spec = election
    outcome = decide(c, spec)
    winners = outcome.winners
    assert len(winners) == len(set(winners)) <= c.seats
    for group in c.exclusion_groups:
        assert len(set(group.members) & set(winners)) <= group.max_elected
    if not sum(spec.values()):
        assert winners == [] and outcome.rounds == [] and outcome.quota is None  # no valid votes: nobody elected
        return
    # no seat is left vacant while an eligible candidate remains
    assert len(winners) == min(c.seats, eligible_places(c))
    assert outcome.order[: len(winners)] == winners
    assert sorted(outcome.order) == sorted(c.candidate_ids)
    assert outcome.quota == droop_quota(sum(spec.values()), c.seats)
    assert [t for r in outcome.rounds for t in r.tie_breaks] == outcome.ties
    total = sum(spec.values())
    for r in outcome.rounds:
        assert abs(exact_sum([*r.tallies.values(), r.exhausted]) - total) < Fraction(1, 10**70)
        for x in winners:
            assert 0 <= Decimal(str(r.details["keep_factors"][x])) <= 1


@PROPERTY_SETTINGS
@given(elections(), st.randoms(use_true_random=False))
def test_order_of_ballots_and_rank_gaps_do_not_matter(election, rnd):
    c, spec = election
    expected = decide(c, spec)
    items = list(spec.items())
    rnd.shuffle(items)
    assert decide(c, dict(items)) == expected
    # the same preferences with gaps between the ranks
    gapped = Counter()
    for m, w in items:
        gapped[tuple((cand, 1 + 3 * i) for i, (cand, _) in enumerate(m))] += w
    assert decide(c, gapped) == expected


@PROPERTY_SETTINGS
@given(elections(), st.randoms(use_true_random=False))
def test_split_or_merged_ballots_count_the_same(election, rnd):
    c, spec = election
    merged = [Ballot(marks=m, weight=w) for m, w in spec.items()]
    split = [Ballot(marks=m) for m, w in spec.items() for _ in range(w)]
    rnd.shuffle(split)
    a = count(c, merged).outcome
    b = count(c, split).outcome
    assert a == b


@PROPERTY_SETTINGS
@given(elections())
def test_deterministic(election):
    c, spec = election
    first = decide(c, spec)
    assert decide(c, spec) == first
    assert json.dumps([r.to_json() for r in first.rounds]) == json.dumps([r.to_json() for r in decide(c, spec).rounds])


def test_large_random_election_is_consistent():
    rng = random.Random(5)
    ids = [f"c{i}" for i in range(8)]
    spec = Counter()
    for _ in range(3000):
        order = rng.sample(ids, rng.randint(1, 8))
        spec[tuple((x, i + 1) for i, x in enumerate(order))] += rng.randint(1, 3)
    c = contest(ids, seats=3, groups=[(("c0", "c1", "c2"), 1)])
    outcome = decide(c, spec)
    assert len(outcome.winners) == 3
    assert len({"c0", "c1", "c2"} & set(outcome.winners)) <= 1


@PROPERTY_SETTINGS
@given(elections())
def test_dynamic_quota_fills_the_seats_within_the_groups(election):
    c, spec = election
    c = Contest(**{**c.__dict__, "options": DYNAMIC})
    outcome = decide(c, spec)
    winners = outcome.winners
    seats = min(c.seats, eligible_places(c)) if sum(spec.values()) else 0  # no valid votes: nobody elected
    assert len(winners) == len(set(winners)) == seats
    for group in c.exclusion_groups:
        assert len(set(group.members) & set(winners)) <= group.max_elected
    total = sum(spec.values())
    for r in outcome.rounds:
        quota = (total - Fraction(r.exhausted)) / (c.seats + 1)
        assert abs(Fraction(r.threshold) - quota) < Fraction(1, 10**70)
        for x in r.elected:  # by exceeding the quota, or filling the seats (which ends the count)
            assert r is outcome.rounds[-1] or Fraction(r.tallies[x]) > Fraction(r.threshold)
