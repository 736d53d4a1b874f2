"""The `rcv` method (RCTab's rules): Java's generator, the tie-break modes, the rules RCTab's corpus
does not exercise, the definition checks, and properties: where RCTab's rules and instant-runoff's
coincide (one seat), the counts agree round by round."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counting import Ballot, Candidate, Contest, CountingError, DefinitionError, count
from counting.count import follow_in_area
from counting.definition import check_contest
from counting.interchange import count_document
from counting.official import TieNeedsDecision
from counting.java_random import JavaRandom, _floor_of_rounded_product, hash_set_order, shuffle, string_hash


def rcv(candidates: str = "ABC", seats: int = 1, **options) -> Contest:
    return Contest(id="t", method="rcv", candidates=tuple(Candidate(c) for c in candidates), seats=seats,
                   options=options)


def ballot(text: str, weight: int = 1) -> Ballot:
    """'A>B=C>_>D': A first, B and C both second, third left blank, D fourth."""
    marks = [(c, rank) for rank, group in enumerate(text.split(">"), start=1) for c in group.split("=") if c != "_"]
    return Ballot(marks=tuple(marks), weight=weight)


def run(contest: Contest, *groups: tuple[int, str]) -> dict:
    return count(contest, [ballot(text, n) for n, text in groups]).to_json()


def summary(result: dict) -> list[tuple]:
    return [(r["tallies"], r["threshold"], r["elected"], r["eliminated"]) for r in result["rounds"]]


# ---------------------------------------------------------------------------------------------
# java.util.Random, bit for bit (values printed by a JDK)


def test_java_random_gives_the_jdks_draws():
    assert JavaRandom(42).next_int() == -1170105035
    assert JavaRandom(0).next_int(100) == 60
    assert JavaRandom(0).next_double_numerator() / 2**53 == 0.730967787376657
    assert JavaRandom(1).next_double_numerator() / 2**53 == 0.7308781907032909


def test_a_draw_rounds_the_double_product_as_java_does():
    """floor(nextDouble() * 3) where the exact product is just below 2: Java's double product rounds
    up to 2.0, so Java draws index 2 where exact arithmetic would say 1."""
    k = (2**54 - 1) // 3
    assert k * 3 < 2 * 2**53
    assert _floor_of_rounded_product(k, 3) == 2
    assert _floor_of_rounded_product(2**52, 3) == 1  # 0.5 x 3 = 1.5: no rounding at all


def test_shuffle_is_collections_shuffle():
    """Each position from the end swaps with nextInt(i + 1); the draws of the same seed replayed."""
    items = list("ABCDE")
    shuffle(items, JavaRandom(12345))
    replay, expected = JavaRandom(12345), list("ABCDE")
    for i in range(4, 0, -1):
        j = replay.next_int(i + 1)
        expected[i], expected[j] = expected[j], expected[i]
    assert items == expected


def test_string_hash_and_hash_set_order_are_javas():
    assert string_hash("hello") == 99162322
    assert string_hash("Aa") == string_hash("BB") == 2112
    assert string_hash("polygenelubricants") == -2147483648  # Java's famous Integer.MIN_VALUE hash
    assert hash_set_order(["B", "Q"]) == ["Q", "B"]  # buckets 81 & 15 = 1 before 66 & 15 = 2
    assert hash_set_order(["BB", "Aa"]) == ["BB", "Aa"]  # one bucket: insertion order


# ---------------------------------------------------------------------------------------------
# Tie-break modes


TIE = ((2, "A"), (2, "B"), (2, "C"), (1, "D>A"))


def eliminated_first(**options) -> tuple[list, list]:
    result = run(rcv("ABCD", **options), *TIE)
    return result["rounds"][1]["eliminated"], result["rounds"][1]["tie_breaks"]


def test_use_candidate_order_eliminates_the_latest_listed():
    losers, ties = eliminated_first(tie_break_mode="use-candidate-order", tie_break_order=["C", "A", "B", "D"])
    assert losers == ["B"]
    assert ties[0]["rule"] == "tie-break-order" and ties[0]["candidates"] == ["B", "C"]


def test_random_draws_from_the_seeded_generator():
    """B and C tie for fewest in round 2 (A has 3): sorted [B, C], index floor(nextDouble() x 2)."""
    for seed in range(6):
        losers, ties = eliminated_first(tie_break_mode="random", random_seed=seed)
        index = JavaRandom(seed).next_double_numerator() * 2 >> 53
        assert losers == [["B", "C"][index]]
        assert ties[0]["rule"] == "random-draw"


def test_generated_permutation_is_the_sorted_candidates_shuffled_by_the_seed():
    order = list("ABCD")
    shuffle(order, JavaRandom(7))
    losers, ties = eliminated_first(tie_break_mode="generate-permutation", random_seed=7)
    assert losers == [max(["B", "C"], key=order.index)]
    assert ties[0]["rule"] == "generated-permutation"


def test_previous_round_counts_decide_before_any_draw():
    # round 2: B and C tie at 3; in round 1 C had fewer (2 < 3), so C goes, without a draw
    result = run(rcv("ABCD", tie_break_mode="previous-round-counts-then-random", random_seed=1),
                 (5, "A"), (3, "B"), (2, "C"), (1, "D>C"))
    third = result["rounds"][1]
    assert third["tallies"] == {"A": 5, "B": 3, "C": 3}
    assert third["eliminated"] == ["C"] and third["tie_breaks"][0]["rule"] == "previous-rounds"


def test_stop_counting_and_ask_stops_at_a_tie_naming_it_then_goes_on_with_the_decision():
    with pytest.raises(TieNeedsDecision, match=r"round 2: B, C are tied and the rules leave the tie to an official") as stop:
        eliminated_first(tie_break_mode="stop-counting-and-ask")
    assert stop.value.to_json() == {"round": 2, "purpose": "eliminate", "candidates": ["B", "C"], "choose": 1}
    for loser in "BC":
        decision = {"round": 2, "purpose": "eliminate", "candidates": ["C", "B"], "chosen": [loser]}
        losers, ties = eliminated_first(tie_break_mode="stop-counting-and-ask", tie_decisions=[decision])
        assert losers == [loser] and ties[0]["rule"] == "official-decision" and ties[0]["candidates"] == ["B", "C"]
    # without a tie the count finishes
    assert run(rcv(tie_break_mode="stop-counting-and-ask"), (3, "A"), (1, "B"))["winners"] == ["A"]


# ---------------------------------------------------------------------------------------------
# Rules the corpus does not exercise


def test_minimum_vote_threshold_eliminates_everyone_below_it_at_once():
    """RCTab's (since retired) minimum_threshold_test: minimum 3; round 1 Garfield 1, Odie 0,
    Skeletor 2 are below it and go together; Gargamel wins round 2 with 6 of 10."""
    contest = Contest(id="t", method="rcv", candidates=tuple(Candidate(c) for c in
                      ("Gargamel", "Skeletor", "Megatron", "Garfield", "Odie")), options={"minimum_vote_threshold": 3})
    ballots = [Ballot((("Gargamel", 1),), 4), Ballot((("Megatron", 1),), 3),
               Ballot((("Garfield", 1), ("Gargamel", 2))), Ballot((("Skeletor", 1), ("Gargamel", 2))),
               Ballot((("Skeletor", 1), ("Megatron", 2)))]
    result = count(contest, ballots).to_json()
    assert summary(result) == [
        ({"Gargamel": 4, "Skeletor": 2, "Megatron": 3, "Garfield": 1, "Odie": 0}, 6, [], ["Skeletor", "Garfield", "Odie"]),
        ({"Gargamel": 6, "Megatron": 4}, 6, ["Gargamel"], []),
    ]


def test_minimum_vote_threshold_above_everyone_stops_the_count():
    with pytest.raises(CountingError, match="below minimum_vote_threshold 10"):
        run(rcv(minimum_vote_threshold=10), (3, "A"), (2, "B"), (1, "C"))


def test_hare_quota_is_votes_over_seats_rounded_up():
    result = run(rcv("ABCD", seats=2, winner_election_mode="multi-winner-allow-multiple-winners-per-round",
                     hare_quota=True), (5, "A>B"), (3, "B"), (2, "C"), (1, "D"))
    assert result["rounds"][0]["threshold"] == 6  # ceil(11 / 2)
    assert result["quota"] == 6


def test_non_integer_threshold_adds_one_unit_of_the_last_place():
    result = run(rcv("ABC", seats=2, winner_election_mode="multi-winner-allow-multiple-winners-per-round",
                     non_integer_winning_threshold=True, decimal_places_for_vote_arithmetic=2),
                 (5, "A>B"), (3, "B"), (2, "C"))
    assert result["rounds"][0]["threshold"] == "3.34"  # floor(10 / 3, 2 places) + 0.01


def test_excluded_candidates_never_count_and_their_ballots_move_on():
    result = run(rcv("ABC", excluded_candidates=["A"]), (3, "A>B"), (2, "B"), (4, "C"))
    assert summary(result) == [({"B": 5, "C": 4}, 5, ["B"], [])]


def test_stop_tabulation_early_after_round_ends_without_a_winner():
    result = run(rcv("ABCD", stop_tabulation_early_after_round=1), (3, "A"), (2, "B"), (2, "C"), (1, "D"))
    assert len(result["rounds"]) == 1 and result["winners"] == []


# ---------------------------------------------------------------------------------------------
# Definition checks


@pytest.mark.parametrize(
    ("seats", "options", "field"),
    [
        (1, {"winner_election_mode": "borda"}, "contest.options.winner_election_mode"),
        (2, {}, "contest.seats"),
        (1, {"tie_break_mode": "random"}, "contest.options.random_seed"),
        (1, {"tie_break_mode": "coin"}, "contest.options.tie_break_mode"),
        (2, {"winner_election_mode": "multi-winner-allow-multiple-winners-per-round", "batch_elimination": True},
         "contest.options.batch_elimination"),
        (2, {"winner_election_mode": "bottoms-up", "continue_until_two_candidates_remain": True},
         "contest.options.continue_until_two_candidates_remain"),
        (1, {"winner_election_mode": "bottoms-up-using-percentage-threshold"},
         "contest.options.bottoms_up_percentage_threshold"),
        (1, {"winner_election_mode": "bottoms-up-using-percentage-threshold", "bottoms_up_percentage_threshold": "0"},
         "contest.options.bottoms_up_percentage_threshold"),
        (1, {"hare_quota": True}, "contest.options.hare_quota"),
        (2, {"winner_election_mode": "multi-winner-allow-only-one-winner-per-round", "hare_quota": True,
             "non_integer_winning_threshold": True}, "contest.options.hare_quota"),
        (1, {"decimal_places_for_vote_arithmetic": 0}, "contest.options.decimal_places_for_vote_arithmetic"),
        (1, {"excluded_candidates": ["Z"]}, "contest.options.excluded_candidates"),
        (1, {"excluded_candidates": ["A", "B", "C"]}, "contest.options.excluded_candidates"),
        (4, {"winner_election_mode": "multi-pass-irv"}, "contest.seats"),
        (1, {"stop_tabulation_early_after_round": 0}, "contest.options.stop_tabulation_early_after_round"),
    ],
)
def test_definitions_that_cannot_be_counted_are_refused_naming_the_field(seats, options, field):
    with pytest.raises(DefinitionError) as refused:
        check_contest(rcv(seats=seats, **options))
    assert refused.value.field == field


# ---------------------------------------------------------------------------------------------
# Properties: one seat, where RCTab's rules and instant-runoff's coincide


CANDIDATES = "ABCDE"
rankings = st.lists(st.sampled_from(CANDIDATES), min_size=1, max_size=5, unique=True)
elections = st.lists(st.tuples(rankings, st.integers(1, 5)), min_size=1, max_size=25)
ballot_rules = st.fixed_dictionaries({
    "overvote_rule": st.sampled_from(["exhaust-immediately", "always-skip-to-next-rank", "exhaust-if-multiple-continuing"]),
    "max_skipped_ranks": st.sampled_from([None, 0, 1]),
    "batch_elimination": st.booleans(),
})


def _ballots(election, overvote_every: int = 0) -> list[Ballot]:
    out = []
    for i, (ranking, weight) in enumerate(election):
        marks = [(c, r) for r, c in enumerate(ranking, start=1)]
        if overvote_every and i % overvote_every == 0 and len(marks) > 2:  # a gap and an overvote
            marks[1] = (marks[1][0], 3)
        out.append(Ballot(tuple(marks), weight))
    return out


def _rounds(result: dict) -> list[tuple]:
    return [(r["tallies"], r["threshold"], r["elected"], sorted(r["eliminated"]), r["exhausted_by"])
            for r in result["rounds"]]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections, ballot_rules, st.permutations(CANDIDATES))
def test_single_winner_majority_counts_as_instant_runoff(election, rules, order):
    ballots = _ballots(election, overvote_every=3)
    irv = Contest(id="t", method="instant-runoff", candidates=tuple(Candidate(c) for c in CANDIDATES),
                  options={**rules, "tie_break_order": list(order), "tie_break_look_back": False})
    ours = rcv(CANDIDATES, **rules, tie_break_order=list(order))
    expected = count(irv, ballots).to_json()
    got = count(ours, ballots).to_json()
    assert _rounds(got) == _rounds(expected)
    assert got["winners"] == expected["winners"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections, st.sampled_from(["multi-winner-allow-multiple-winners-per-round",
                                   "multi-winner-allow-only-one-winner-per-round", "multi-pass-irv"]))
def test_the_single_seat_forms_of_the_multi_seat_modes_are_instant_runoff(election, mode):
    ballots = _ballots(election)
    irv = Contest(id="t", method="instant-runoff", candidates=tuple(Candidate(c) for c in CANDIDATES),
                  options={"tie_break_look_back": False, "overvote_rule": "exhaust-immediately"})
    got = count(rcv(CANDIDATES, winner_election_mode=mode, overvote_rule="exhaust-immediately"), ballots).to_json()
    expected = count(irv, ballots).to_json()
    rounds = got["passes"][0]["rounds"] if mode == "multi-pass-irv" else got["rounds"]
    assert _rounds({"rounds": rounds}) == _rounds(expected)
    assert got["winners"] == expected["winners"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections)
def test_bottoms_up_for_one_seat_elects_the_instant_runoff_winner(election):
    """Bottoms-up eliminates until one candidate is left, past any majority; a majority holder is
    never the lowest, so the winner is instant-runoff's."""
    ballots = _ballots(election)
    irv = Contest(id="t", method="instant-runoff", candidates=tuple(Candidate(c) for c in CANDIDATES),
                  options={"tie_break_look_back": False, "overvote_rule": "exhaust-immediately"})
    got = count(rcv(CANDIDATES, winner_election_mode="bottoms-up", overvote_rule="exhaust-immediately"), ballots)
    assert got.winners == count(irv, ballots).winners


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections, st.integers(2, 4), st.sampled_from([2, 4]))
def test_surplus_transfers_keep_every_vote_accounted_for(election, seats, places):
    """In every round: tallies (winners at the threshold) + inactive + residual surplus = valid votes,
    each figure to `places` decimals."""
    ballots = _ballots(election)
    result = count(rcv(CANDIDATES, seats=seats, winner_election_mode="multi-winner-allow-multiple-winners-per-round",
                       decimal_places_for_vote_arithmetic=places, overvote_rule="exhaust-immediately"),
                   ballots).to_json()

    def exact(v):
        return Fraction(Decimal(str(v)))

    for r in result["rounds"]:
        total = sum(map(exact, r["tallies"].values())) + exact(r["exhausted"]) + exact(r["residual_surplus"])
        assert total == result["totals"]["valid"]
        assert all((exact(v) * 10**places).denominator == 1 for v in r["tallies"].values())
    assert len(result["winners"]) == min(seats, len(CANDIDATES))


# ---------------------------------------------------------------------------------------------
# docs/interchange.md: every worked example of `rcv` counts as written


DOCS = Path(__file__).resolve().parents[2] / "docs" / "interchange.md"
ROUND_KEYS = ("round", "tallies", "threshold", "elected", "eliminated", "exhausted_by", "residual_surplus")


def _doc_blocks(kind: str) -> dict[str, dict]:
    blocks = re.findall(rf"<!-- example-{kind}: (rcv_\w+) -->\s*```json\n(.*?)```", DOCS.read_text(), re.S)
    return {name: json.loads(text) for name, text in blocks}


def _as_documented(rounds: list[dict]) -> list[dict]:
    return [{k: r[k] for k in ROUND_KEYS if k in r} for r in rounds]


EXAMPLES = sorted(_doc_blocks("input"))


def test_every_rcv_option_has_a_worked_example():
    options = set().union(*(doc["contest"]["options"] for doc in _doc_blocks("input").values()))
    assert options >= {"winner_election_mode", "decimal_places_for_vote_arithmetic", "non_integer_winning_threshold",
                       "hare_quota", "bottoms_up_percentage_threshold", "continue_until_two_candidates_remain",
                       "stop_tabulation_early_after_round", "excluded_candidates", "minimum_vote_threshold",
                       "first_round_determines_threshold", "cutoff_elimination",
                       "tie_break_mode", "random_seed"}
    modes = {doc["contest"]["options"].get("winner_election_mode") for doc in _doc_blocks("input").values()}
    assert modes >= {None, "multi-winner-allow-multiple-winners-per-round", "multi-winner-allow-only-one-winner-per-round",
                     "bottoms-up", "bottoms-up-using-percentage-threshold", "multi-pass-irv"}
    assert set(_doc_blocks("rounds")) == set(EXAMPLES)


@pytest.mark.parametrize("name", EXAMPLES)
def test_docs_rcv_example_counts_as_written(name):
    result = count_document(_doc_blocks("input")[name])
    documented = _doc_blocks("rounds")[name]
    assert result["winners"] == documented["winners"]
    if "passes" in documented:
        assert [{**p, "rounds": _as_documented(p["rounds"])} for p in result["passes"]] == documented["passes"]
    else:
        assert _as_documented(result["rounds"]) == documented["rounds"]


def test_a_multi_pass_result_shows_each_pass_and_names_the_pass_of_each_tie():
    from counting.table import format_table

    # pass 2 (A excluded): B and C tie 2-2 in its round 1 and the candidate order elects B
    result = run(rcv("ABC", seats=2, winner_election_mode="multi-pass-irv"), (5, "A"), (2, "B"), (2, "C"))
    assert result["winners"] == ["A", "B"] and "rounds" not in result
    assert result["ties"] == [{"round": 1, "pass": 2, "purpose": "elect", "candidates": ["B", "C"], "chosen": ["B"],
                               "rule": "tie-break-order"}]
    table = format_table(result)
    assert "Rounds, pass 1" in table and "Rounds, pass 2" in table
    assert "pass 2, round 1, elect: B, C -> B (tie-break-order)" in table


def test_the_undeclared_write_in_is_never_elected_even_in_a_tie_of_two():
    """Found by tests/engine/test_registry_properties.py: the last two (A and the write-in W) tied and the
    tie order, favouring W, elected it."""
    contest = Contest(id="t", method="rcv", candidates=(Candidate("A"), Candidate("W", undeclared_write_in=True)),
                      options={"tie_break_order": ["W", "A"]})
    ballots = [Ballot(marks=(("A", 1),)), Ballot(marks=(("W", 1),))]
    assert count(contest, ballots).to_json()["winners"] == ["A"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(elections, st.integers(2, 3), st.integers(2, 3), st.sampled_from([2, 4]))
def test_areas_following_a_surplus_count_add_up_to_it(election, seats, areas, places):
    """Split the ballots into areas: each area follows the contest's rounds, its winners' surplus moving
    the contest's fractions, so in every round the areas' continuing tallies add up to the contest's,
    and all their votes to the contest's with its residual surplus (an area's winner is never capped)."""
    ballots = _ballots(election)
    contest = rcv(CANDIDATES, seats=seats, winner_election_mode="multi-winner-allow-multiple-winners-per-round",
                  decimal_places_for_vote_arithmetic=places, overvote_rule="exhaust-immediately")
    result = count(contest, ballots).to_json()
    followed = [follow_in_area(contest, ballots[k::areas], result)["rounds"] for k in range(areas)]

    def exact(v):
        return Fraction(Decimal(str(v)))

    for n, whole in enumerate(result["rounds"]):
        parts = [f[n] for f in followed]
        assert all(p["elected"] == whole["elected"] and p["threshold"] == whole["threshold"] for p in parts)
        winners = {c for r in result["rounds"][:n] for c in r["elected"]}
        for candidate, votes in whole["tallies"].items():
            if candidate not in winners:
                assert sum(exact(p["tallies"][candidate]) for p in parts) == exact(votes)
        area_votes = sum(sum(map(exact, p["tallies"].values())) + exact(p["exhausted"]) for p in parts)
        assert area_votes == sum(map(exact, whole["tallies"].values())) + exact(whole["exhausted"]) + exact(
            whole["residual_surplus"])
