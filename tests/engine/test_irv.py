"""Instant-runoff: counting.md's worked examples, every option of its IRV table, undeclared
write-ins, the two-candidate tie, the definition checks, and properties over random elections."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from counting import Ballot, Candidate, Contest, DefinitionError, count
from counting.definition import check_contest
from counting.methods import METHODS
from counting.methods.irv import LOOK_BACK_NOTE
from counting.outcome import NO_VALID_VOTES
from counting.vocabulary import DuplicateRule, OvervoteRule
from counting.ranking import CUTOFF_NOTE, ORDER_NOTE


def irv(candidates: str = "ABC", *, write_ins: str = "", max_votes: int | None = None, **options) -> Contest:
    return Contest(
        id="t",
        method="instant-runoff",
        candidates=tuple(Candidate(c, undeclared_write_in=c in write_ins) for c in candidates),
        max_votes=max_votes,
        options=options,
    )


def ballot(text: str, weight: int = 1) -> Ballot:
    """'A>B=C>_>D': A first, B and C both second (an overvote), third left blank, D fourth."""
    marks = [(c, rank) for rank, group in enumerate(text.split(">"), start=1) for c in group.split("=") if c != "_"]
    return Ballot(marks=tuple(marks), weight=weight)


def run(contest: Contest, *groups: tuple[int, str]) -> dict:
    """Count `weight x ballot` groups, as records of weight 1, and return the result's JSON."""
    return count(contest, [ballot(text) for n, text in groups for _ in range(n)]).to_json()


def summary(result: dict) -> list[tuple]:
    return [(r["tallies"], r["threshold"], r["elected"], r["eliminated"]) for r in result["rounds"]]


# ---------------------------------------------------------------------------------------------
# counting.md's worked examples


def test_velvet_example_two_candidate_tie_is_decided_by_candidate_id():
    result = run(irv(), (4, "A>B>C"), (4, "B>A>C"), (1, "C>A>B"), (1, "C>B>A"))
    assert summary(result) == [
        ({"A": 4, "B": 4, "C": 2}, 6, [], ["C"]),
        ({"A": 5, "B": 5}, 6, ["A"], []),
    ]
    tie = {"round": 2, "purpose": "elect", "candidates": ["A", "B"], "chosen": ["A"], "rule": "candidate-id-asc"}
    assert result["rounds"][1]["tie_breaks"] == [tie]
    assert result["rounds"][0]["tie_breaks"] == []
    assert result["ties"] == [tie]
    assert result["winners"] == ["A"]
    assert result["notes"] == [CUTOFF_NOTE]
    assert [(c["id"], c["total_count"], c["rank"], c["is_winner"]) for c in result["candidates"]] == [
        ("A", 5, 1, True),
        ("B", 5, 2, False),
        ("C", 0, 3, False),
    ]


EXAMPLE_2 = ((35, "A>B"), (40, "B"), (50, "C"), (5, "D>A"), (20, "D>C"))


def test_tie_for_fewest_is_broken_by_the_previous_round():
    result = run(irv("ABCD"), *EXAMPLE_2)
    assert summary(result) == [
        ({"A": 35, "B": 40, "C": 50, "D": 25}, 76, [], ["D"]),
        ({"A": 40, "B": 40, "C": 70}, 76, [], ["A"]),
        ({"B": 75, "C": 70}, 73, ["B"], []),
    ]
    tie = {"round": 2, "purpose": "eliminate", "candidates": ["A", "B"], "chosen": ["A"], "rule": "previous-rounds"}
    assert result["rounds"][1]["tie_breaks"] == [tie]
    assert result["ties"] == [tie]
    assert result["winners"] == ["B"]
    assert result["notes"] == []  # a tie for fewest is not a tie at the seat cutoff
    # A's own 35 moved to B; D>A exhausted when A went
    assert result["rounds"][2]["exhausted"] == 5
    assert result["rounds"][2]["exhausted_by"] == {"no-more-choices": 5}
    assert [c["id"] for c in result["candidates"]] == ["B", "C", "A", "D"]


def test_without_look_back_the_tie_break_order_decides_at_once():
    result = run(irv("ABCD", tie_break_look_back=False), *EXAMPLE_2)
    assert result["rounds"][1]["eliminated"] == ["B"]  # ids ascending: B is the least favoured
    assert result["ties"][0]["rule"] == "candidate-id-asc"
    assert result["winners"] == ["C"]


# ---------------------------------------------------------------------------------------------
# Thresholds, exhaustion, totals and order


def test_threshold_is_a_strict_majority_of_the_continuing_weight():
    result = run(irv(), (3, "A"), (2, "B"), (2, "C>B"))
    assert summary(result) == [
        ({"A": 3, "B": 2, "C": 2}, 4, [], ["C"]),  # B and C tie; no earlier round; C least favoured
        ({"A": 3, "B": 4}, 4, ["B"], []),
    ]


def test_a_first_round_majority_wins_at_once():
    result = run(irv(), (6, "A>B"), (5, "B>A"))
    assert summary(result) == [({"A": 6, "B": 5, "C": 0}, 6, ["A"], [])]


def test_exhausted_ballots_leave_the_continuing_weight():
    result = run(irv("ABCD"), (4, "A"), (3, "B"), (2, "C"), (1, "D>C"))
    rounds = result["rounds"]
    assert [r["threshold"] for r in rounds] == [6, 6, 4]
    assert [r["exhausted"] for r in rounds] == [0, 0, 3]
    assert rounds[2]["tallies"] == {"A": 4, "B": 3}


def test_totals_are_the_final_round_and_the_order_is_how_long_each_lasted():
    result = run(irv("ABCD"), (5, "A"), (4, "B"), (3, "C>B"), (1, "D>A"))
    assert result["winners"] == ["B"]
    assert [(c["id"], c["total_count"], c["rank"]) for c in result["candidates"]] == [
        ("B", 7, 1),
        ("A", 6, 2),
        ("C", 0, 3),
        ("D", 0, 4),
    ]
    # shares are of the final round's continuing ballots
    assert [c["percentage_votes"] for c in result["candidates"]][:2] == ["53.8462", "46.1538"]


def test_zero_valid_ballots_elect_nobody():
    result = run(irv())
    assert result["winners"] == [] and "rounds" not in result and result["ties"] == []
    assert result["notes"] == [NO_VALID_VOTES]


def test_a_single_candidate_is_elected_in_round_one():
    result = run(irv("A"), (2, "A"))
    assert summary(result) == [({"A": 2}, 2, ["A"], [])]


def test_weights_count_as_votes():
    contest = irv()
    result = count(contest, [ballot("A", 3), ballot("B>A", 2), ballot("C", 4)]).to_json()
    assert summary(result) == [({"A": 3, "B": 2, "C": 4}, 5, [], ["B"]), ({"A": 5, "C": 4}, 5, ["A"], [])]


# ---------------------------------------------------------------------------------------------
# overvote_rule


def test_overvote_invalidates_the_ballot_by_default():
    result = run(irv(), (2, "A=B>C"), (1, "C"))
    assert result["totals"]["invalid_implicit"] == 2
    assert result["totals"]["invalid_reasons"] == {"overvote": 2}
    assert result["winners"] == ["C"]


def test_exhaust_immediately_exhausts_when_the_count_reaches_the_overvote():
    contest = irv("ABCD", overvote_rule="exhaust-immediately")
    result = run(contest, (3, "A=B"), (2, "C>B=A"), (3, "B"), (2, "A"), (1, "D"))
    r1, r2, r3 = result["rounds"]
    assert (r1["tallies"], r1["exhausted_by"]) == ({"A": 2, "B": 3, "C": 2, "D": 1}, {"overvote": 3})
    assert r1["eliminated"] == ["D"]
    assert r2["eliminated"] == ["C"]  # A and C tie at 2 in rounds 1 and 2: C is the least favoured
    assert (r3["tallies"], r3["exhausted_by"]) == ({"A": 2, "B": 3}, {"no-more-choices": 1, "overvote": 5})
    assert result["winners"] == ["B"]


def test_always_skip_passes_the_overvoted_rank_over():
    contest = irv("ABCD", overvote_rule="always-skip-to-next-rank")
    result = run(contest, (2, "A=B>C"), (4, "B"), (2, "D>A=C>B"), (3, "C"))
    assert summary(result) == [
        ({"A": 0, "B": 4, "C": 5, "D": 2}, 6, [], ["A"]),  # A=B>C went straight to C
        ({"B": 4, "C": 5, "D": 2}, 6, [], ["D"]),
        ({"B": 6, "C": 5}, 6, ["B"], []),  # D>A=C>B passed over A=C, though C is continuing
    ]


def test_an_overvote_on_the_last_rank_skipped_is_out_of_choices():
    result = run(irv(overvote_rule="always-skip-to-next-rank"), (1, "A=B"), (2, "C"))
    assert result["rounds"][0]["exhausted_by"] == {"no-more-choices": 1}


def test_exhaust_if_multiple_continuing_exhausts_when_two_are_continuing():
    contest = irv("ABCD", overvote_rule="exhaust-if-multiple-continuing")
    result = run(contest, (1, "D>A=B"), (1, "D>B=C"), (4, "A"), (3, "B"), (5, "C"))
    r1, r2 = result["rounds"][:2]
    assert r1["eliminated"] == ["D"]
    # both at the overvote still continuing: exhausted by overvote
    assert r2["tallies"] == {"A": 4, "B": 3, "C": 5}
    assert r2["exhausted_by"] == {"overvote": 2}


def test_exhaust_if_multiple_continuing_passes_over_when_none_continue_and_stays_exhausted():
    contest = irv("ABCDE", overvote_rule="exhaust-if-multiple-continuing")
    groups = ((1, "A=B>C"), (1, "E>A=B>C"), (6, "C"), (5, "D"), (2, "B"))
    result = run(contest, *groups)
    r1, r2 = result["rounds"][:2]
    # round 1: A=B at rank 1 with both continuing exhausts; E>... counts for E
    assert r1["tallies"] == {"A": 0, "B": 2, "C": 6, "D": 5, "E": 1}
    assert r1["exhausted_by"] == {"overvote": 1}
    assert r1["eliminated"] == ["A"]
    # round 2: the exhausted ballot stays exhausted though only B of A=B is left
    assert r2["tallies"] == {"B": 2, "C": 6, "D": 5, "E": 1}
    assert r2["eliminated"] == ["E"]
    # round 3: E>A=B>C: only B of A=B continues, so it counts for B
    assert result["rounds"][2]["tallies"] == {"B": 3, "C": 6, "D": 5}
    assert result["rounds"][2]["exhausted"] == 1
    # round 4: with A and B both gone the overvoted rank is passed over, on to C
    assert result["rounds"][3]["tallies"] == {"C": 7, "D": 5}
    assert result["rounds"][3]["exhausted_by"] == {"no-more-choices": 2, "overvote": 1}


# ---------------------------------------------------------------------------------------------
# duplicate_candidate_rule


def test_repeated_candidate_invalidates_the_ballot_by_default():
    result = run(irv(), (1, "A>A>B"), (1, "B"))
    assert result["totals"]["invalid_reasons"] == {"duplicate-candidate": 1}


def test_duplicate_exhaust_stops_at_the_second_occurrence():
    result = run(irv(duplicate_candidate_rule="exhaust"), (2, "C>C>A"), (3, "A"), (4, "B"))
    assert result["rounds"][1]["tallies"] == {"A": 3, "B": 4}
    assert result["rounds"][1]["exhausted_by"] == {"repeated-candidate": 2}


def test_duplicate_skip_passes_the_later_occurrence_over():
    result = run(irv(duplicate_candidate_rule="skip"), (2, "C>C>A"), (3, "A"), (4, "B"))
    assert result["rounds"][1]["tallies"] == {"A": 5, "B": 4}
    assert result["rounds"][1]["exhausted"] == 0


def test_duplicate_skip_counts_a_repeat_of_a_candidate_whose_overvote_was_skipped():
    # RCTab (its skip_to_next_test): the earlier A sat in a skipped overvote, so the later A counts
    contest = irv(overvote_rule="always-skip-to-next-rank", duplicate_candidate_rule="skip")
    result = run(contest, (2, "C>A=B>A"), (3, "A"), (4, "B"))
    assert result["rounds"][1]["tallies"] == {"A": 5, "B": 4}


# ---------------------------------------------------------------------------------------------
# max_skipped_ranks


@pytest.mark.parametrize(
    "max_skipped, expected_a, reason",
    [(None, 5, None), (2, 5, None), (1, 3, "skipped-ranks"), (0, 3, "skipped-ranks")],
)
def test_max_skipped_ranks_exhausts_on_a_longer_jump(max_skipped, expected_a, reason):
    contest = irv(max_votes=4, max_skipped_ranks=max_skipped)
    result = run(contest, (2, "C>_>_>A"), (3, "A"), (4, "B"))
    assert result["rounds"][1]["tallies"] == {"A": expected_a, "B": 4}
    assert result["rounds"][1]["exhausted_by"] == ({reason: 2} if reason else {})


def test_max_skipped_ranks_counts_from_rank_zero_before_the_first_mark():
    result = run(irv(max_votes=3, max_skipped_ranks=1), (1, "_>_>A"), (1, "_>B"), (1, "C"))
    assert result["rounds"][0]["tallies"] == {"A": 0, "B": 1, "C": 1}
    assert result["rounds"][0]["exhausted_by"] == {"skipped-ranks": 1}


def test_an_overvoted_rank_counts_as_looked_at_for_skipped_ranks():
    contest = irv("ABCD", max_votes=4, max_skipped_ranks=1, overvote_rule="always-skip-to-next-rank")
    result = run(contest, (1, "A=B>_>C"), (3, "C"), (2, "D"))
    assert result["rounds"][0]["tallies"]["C"] == 4


# ---------------------------------------------------------------------------------------------
# batch_elimination


def test_batch_elimination_removes_everyone_who_cannot_overtake_at_once():
    contest = irv("ABCDE", batch_elimination=True)
    result = run(contest, (10, "A"), (9, "B"), (4, "C>B"), (2, "D>C"), (1, "E>D"))
    assert summary(result)[0] == ({"A": 10, "B": 9, "C": 4, "D": 2, "E": 1}, 14, [], ["E", "D", "C"])
    assert summary(result)[1] == ({"A": 10, "B": 13}, 12, ["B"], [])
    assert result["ties"] == []


def test_batch_elimination_of_one_falls_back_to_regular_elimination():
    contest = irv("ABCD", batch_elimination=True)
    result = run(contest, (5, "A"), (4, "B"), (3, "C"), (2, "D>C"))
    assert result["rounds"][0]["eliminated"] == ["D"]  # 2 < 3 but 5 >= 4: a batch of one


def test_batch_elimination_never_splits_a_tie():
    contest = irv("ABCDE", batch_elimination=True)
    result = run(contest, (9, "A"), (8, "B"), (3, "C"), (3, "D"), (1, "E"))
    # E (1) < 3, but 1 + 3 + 3 = 7 < 8 takes C, D and E together
    assert sorted(result["rounds"][0]["eliminated"]) == ["C", "D", "E"]
    assert result["ties"] == []


def test_batch_elimination_with_equal_running_total_and_next_count_is_not_a_batch():
    contest = irv("ABCD", batch_elimination=True)
    result = run(contest, (7, "A"), (4, "B"), (3, "C"), (1, "D"))
    # D 1 < C 3, but 1 + 3 = 4 is not below B's 4: only D could go, a batch of one
    assert result["rounds"][0]["eliminated"] == ["D"]


# ---------------------------------------------------------------------------------------------
# tie_break_order and tie_break_look_back


def test_tie_break_order_last_listed_loses_an_elimination_tie():
    contest = irv(tie_break_order=["C", "A", "B"])
    result = run(contest, (3, "A"), (3, "B"), (5, "C"))
    assert result["rounds"][0]["eliminated"] == ["B"]
    assert result["ties"][0]["rule"] == "tie-break-order"
    assert result["ties"][0]["candidates"] == ["A", "B"]  # most favoured first


def test_tie_break_order_first_listed_wins_a_winner_tie_and_is_noted():
    contest = irv("AB", tie_break_order=["B", "A"])
    result = run(contest, (3, "A"), (3, "B"))
    assert summary(result) == [({"A": 3, "B": 3}, 4, ["B"], [])]
    assert result["notes"] == [ORDER_NOTE]


def test_look_back_decides_a_winner_tie_by_the_most_votes_earlier():
    result = run(irv(), (4, "A"), (5, "B"), (1, "C>A"), (2, "C"))
    assert summary(result)[1] == ({"A": 5, "B": 5}, 6, ["B"], [])
    assert result["ties"] == [
        {"round": 2, "purpose": "elect", "candidates": ["A", "B"], "chosen": ["B"], "rule": "previous-rounds"}
    ]
    assert result["notes"] == [LOOK_BACK_NOTE]


def test_look_back_uses_the_most_recent_round_where_they_differ():
    groups = ((4, "A"), (5, "B"), (6, "C"), (1, "E>A"), (1, "D>B"), (2, "D>A"), (1, "F>D"), (8, "G"))
    result = run(irv("ABCDEFG"), *groups)
    rounds = result["rounds"]
    assert rounds[0]["tallies"] == {"A": 4, "B": 5, "C": 6, "D": 3, "E": 1, "F": 1, "G": 8}
    assert rounds[0]["eliminated"] == ["F"]  # E and F tie at 1 with no earlier round: F least favoured
    assert rounds[1]["tallies"] == {"A": 4, "B": 5, "C": 6, "D": 4, "E": 1, "G": 8}
    assert rounds[1]["eliminated"] == ["E"]
    assert rounds[2]["tallies"] == {"A": 5, "B": 5, "C": 6, "D": 4, "G": 8}
    assert rounds[2]["eliminated"] == ["D"]
    assert rounds[3]["tallies"] == {"A": 7, "B": 6, "C": 6, "G": 8}
    assert rounds[3]["eliminated"] == ["B"]  # B and C tie at 6; in round 3 B had 5, C 6
    assert rounds[3]["tie_breaks"][0]["rule"] == "previous-rounds"


def test_look_back_narrows_a_three_way_tie_one_round_at_a_time():
    result = run(irv("GPQXYZ"), (4, "X"), (5, "Y"), (6, "Z"), (1, "P>X"), (1, "Q>X"), (1, "Q>Y"), (10, "G"))
    assert [r["tallies"] for r in result["rounds"]][:3] == [
        {"G": 10, "P": 1, "Q": 2, "X": 4, "Y": 5, "Z": 6},
        {"G": 10, "Q": 2, "X": 5, "Y": 5, "Z": 6},
        {"G": 10, "X": 6, "Y": 6, "Z": 6},
    ]
    # round 2 keeps X and Y (5 < 6); round 1 then picks X (4 < 5)
    assert result["rounds"][2]["tie_breaks"] == [
        {"round": 3, "purpose": "eliminate", "candidates": ["X", "Y", "Z"], "chosen": ["X"], "rule": "previous-rounds"}
    ]


def test_look_back_narrows_then_the_order_decides_among_the_rest():
    result = run(irv("ABCD"), (3, "A"), (3, "B"), (4, "C"), (2, "D>C"), (1, "D"))
    rounds = result["rounds"]
    assert rounds[0]["tallies"] == {"A": 3, "B": 3, "C": 4, "D": 3}
    assert rounds[0]["eliminated"] == ["D"]  # A, B and D tie with no earlier round: D least favoured
    assert rounds[0]["tie_breaks"][0]["rule"] == "candidate-id-asc"
    assert rounds[1]["tallies"] == {"A": 3, "B": 3, "C": 6}
    assert rounds[1]["eliminated"] == ["B"]  # round 1 cannot split A and B either: ids ascending
    assert rounds[1]["tie_breaks"][0]["rule"] == "candidate-id-asc"


# ---------------------------------------------------------------------------------------------
# Undeclared write-ins


def test_a_write_in_with_votes_is_eliminated_alone_and_blocks_any_election_that_round():
    contest = irv("ABW", write_ins="W")
    result = run(contest, (6, "A"), (1, "W>B"), (3, "B"))
    assert summary(result) == [
        ({"A": 6, "B": 3, "W": 1}, 6, [], ["W"]),  # A has a majority, but write-ins go first
        ({"A": 6, "B": 4}, 6, ["A"], []),
    ]


def test_a_write_in_is_never_elected_even_with_a_majority():
    contest = irv("ABW", write_ins="W")
    result = run(contest, (5, "W>B"), (3, "A"), (1, "B"))
    assert result["winners"] == ["B"]
    assert [r["eliminated"] for r in result["rounds"]] == [["W"], []]


def test_a_write_in_without_votes_is_eliminated_like_anyone():
    contest = irv("ABW", write_ins="W")
    result = run(contest, (2, "A"), (2, "B"))
    assert result["rounds"][0]["eliminated"] == ["W"]
    result = run(irv("ABW", write_ins="W", tie_break_order=["W", "A", "B"]), (2, "A"), (2, "B>A"), (1, "W"))
    assert result["rounds"][0]["eliminated"] == ["W"]  # holding a vote, W goes first whatever the order


def test_a_declared_candidate_left_alone_with_write_ins_is_elected_in_that_round():
    # RCTab would eliminate W and count a round of one candidate; we never count such a round
    result = run(irv("AW", write_ins="W"), (1, "A"), (3, "W"))
    assert summary(result) == [({"A": 1, "W": 3}, 3, ["A"], [])]


# ---------------------------------------------------------------------------------------------
# The definition check


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"overvote_rule": "ignore"}, "contest.options.overvote_rule"),
        ({"duplicate_candidate_rule": "exhaustOnDuplicateCandidate"}, "contest.options.duplicate_candidate_rule"),
        ({"max_skipped_ranks": -1}, "contest.options.max_skipped_ranks"),
        ({"max_skipped_ranks": True}, "contest.options.max_skipped_ranks"),
        ({"max_skipped_ranks": "1"}, "contest.options.max_skipped_ranks"),
        ({"tie_break_order": ["A", "Z"]}, "contest.options.tie_break_order"),
        ({"tie_break_order": ["A", "A"]}, "contest.options.tie_break_order"),
        ({"tie_break_order": "ABC"}, "contest.options.tie_break_order"),
        ({"batch_elimination": "yes"}, "contest.options.batch_elimination"),
        ({"tie_break_look_back": 1}, "contest.options.tie_break_look_back"),
    ],
)
def test_bad_options_are_refused_with_the_field(kwargs, field):
    with pytest.raises(DefinitionError) as error:
        check_contest(irv(**kwargs))
    assert error.value.field == field


def test_irv_elects_exactly_one():
    contest = Contest(id="t", method="instant-runoff", candidates=(Candidate("A"), Candidate("B")), seats=2)
    with pytest.raises(DefinitionError) as error:
        check_contest(contest)
    assert error.value.field == "contest.seats"


def test_a_contest_of_write_ins_only_cannot_be_counted():
    with pytest.raises(DefinitionError) as error:
        check_contest(irv("W", write_ins="W"))
    assert error.value.field == "contest.candidates"


def test_every_documented_option_value_is_accepted():
    check_contest(
        irv(
            overvote_rule="exhaust-if-multiple-continuing",
            duplicate_candidate_rule="exhaust",
            max_skipped_ranks=0,
            batch_elimination=True,
            tie_break_order=["B", "A"],
            tie_break_look_back=False,
        )
    )
    check_contest(irv(max_skipped_ranks=None, overvote_rule="invalidate-ballot"))


def test_the_method_is_registered_as_preferential_ranked():
    method = METHODS["instant-runoff"]
    assert (method.mark_kind, method.preferential, method.additive) == ("rank", True, False)
    assert method.contest_default == "process-ballots-all"


# ---------------------------------------------------------------------------------------------
# Properties over random elections (every option, write-ins, gaps, overvotes, repeats)

NAMES = "ABCDEF"


@st.composite
def rankings(draw, candidates: str, popular: list[str], max_votes: int) -> Ballot:
    """A ranking with a popularity-biased first choice, sometimes with a gap in its ranks and
    sometimes with an extra mark (an overvote, a repeated candidate or a later rank)."""
    first = draw(st.sampled_from(popular))
    rest = [c for c in draw(st.permutations(candidates)) if c != first]
    ranking = [first] + rest[: draw(st.integers(0, len(rest)))]
    gap_after, gap = draw(st.integers(0, len(ranking))), draw(st.sampled_from([0, 0, 0, 1, 2]))
    marks = [(c, r + (gap if r > gap_after else 0)) for r, c in enumerate(ranking, start=1)]
    marks += draw(st.lists(st.tuples(st.sampled_from(candidates), st.integers(1, max_votes)), max_size=1))
    return Ballot(marks=tuple(marks), weight=draw(st.integers(1, 5)))


@st.composite
def elections(draw, with_write_in: bool = True):
    n = draw(st.integers(2, 6))
    candidates = NAMES[:n]
    write_ins = candidates[-1] if with_write_in and n > 2 and draw(st.booleans()) else ""
    max_votes = n + 2
    order = draw(st.permutations(candidates))
    options = {
        "overvote_rule": draw(st.sampled_from([rule.value for rule in OvervoteRule])),
        "duplicate_candidate_rule": draw(st.sampled_from([rule.value for rule in DuplicateRule])),
        "max_skipped_ranks": draw(st.sampled_from([None, 0, 1, 2])),
        "batch_elimination": draw(st.booleans()),
        "tie_break_look_back": draw(st.booleans()),
        "tie_break_order": list(order) if draw(st.booleans()) else None,
    }
    # uneven popularity, so that batches, runaway leaders and near-empty candidates all occur
    popular = [c for c in candidates for _ in range(draw(st.integers(1, 6)))]
    ballots = draw(st.lists(rankings(candidates, popular, max_votes), max_size=40))
    return irv(candidates, write_ins=write_ins, max_votes=max_votes, **options), ballots


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def canonical(ballot: Ballot) -> Ballot:
    return Ballot(marks=tuple(sorted(ballot.marks, key=lambda m: (m[1], m[0]))), weight=ballot.weight)


@SETTINGS
@given(elections(), st.randoms(use_true_random=False))
def test_shuffling_the_ballots_changes_nothing(election, rnd):
    contest, ballots = election
    shuffled = list(ballots)
    rnd.shuffle(shuffled)
    assert count(contest, shuffled).to_json() == count(contest, ballots).to_json()


@SETTINGS
@given(elections())
def test_merging_identical_ballots_into_weighted_groups_changes_nothing(election):
    contest, ballots = election
    records = [Ballot(marks=b.marks) for b in ballots for _ in range(b.weight)]
    merged: dict = {}
    for b in records:
        key = canonical(b).marks
        merged[key] = merged.get(key, 0) + 1
    grouped = [Ballot(marks=m, weight=w) for m, w in merged.items()]
    expected = count(contest, records).to_json()
    actual = count(contest, grouped).to_json()
    assert actual["winners"] == expected["winners"]
    assert actual.get("rounds") == expected.get("rounds")  # none when there are no valid votes
    assert actual["ties"] == expected["ties"]
    assert actual["candidates"] == expected["candidates"]


@SETTINGS
@given(elections())
def test_no_round_has_a_single_candidate_and_no_weight_is_lost(election):
    contest, ballots = election
    result = count(contest, ballots).to_json()
    valid = result["totals"]["valid"]
    if not valid:
        assert result["winners"] == [] and "rounds" not in result  # no valid votes: nobody is elected
        return
    for r in result["rounds"]:
        assert len(r["tallies"]) >= 2
        assert sum(r["tallies"].values()) + r["exhausted"] == valid
        assert r["exhausted"] == sum(r["exhausted_by"].values())
        assert r["threshold"] == sum(r["tallies"].values()) // 2 + 1
        assert len(r["elected"]) + len(r["eliminated"]) >= 1
    last = result["rounds"][-1]
    assert last["elected"] == result["winners"] and len(result["winners"]) == 1
    assert all(not r["elected"] for r in result["rounds"][:-1])
    assert not contest.candidate(result["winners"][0]).undeclared_write_in
    eliminated = [c for r in result["rounds"] for c in r["eliminated"]]
    assert len(eliminated) == len(set(eliminated)) and result["winners"][0] not in eliminated


@SETTINGS
@given(elections(), st.data())
def test_a_strict_majority_of_first_preferences_wins(election, data):
    contest, ballots = election
    declared = [c.id for c in contest.candidates if not c.undeclared_write_in]
    favourite = data.draw(st.sampled_from(declared))
    valid = count(contest, ballots).to_json()["totals"]["valid"]
    majority = [Ballot(marks=((favourite, 1),)) for _ in range(valid + 1)]
    result = count(contest, ballots + majority).to_json()
    assert result["rounds"][0]["tallies"][favourite] * 2 > result["totals"]["valid"]
    assert result["winners"] == [favourite]


@SETTINGS
@given(elections(with_write_in=False))
def test_batch_elimination_never_changes_the_winner(election):
    """A batch holds only candidates that sequential elimination would remove first, and in any
    order, so both reach the same state. Left out: look-back (batches skip the rounds it would
    read) and exhaust-if-multiple-continuing (whether an overvote exhausts depends on the order)."""
    contest, ballots = election
    assume(contest.options["overvote_rule"] != "exhaust-if-multiple-continuing")
    options = dict(contest.options, tie_break_look_back=False)
    batch = count(replace(contest, options=dict(options, batch_elimination=True)), ballots)
    one_by_one = count(replace(contest, options=dict(options, batch_elimination=False)), ballots)
    assert batch.winners == one_by_one.winners


def test_a_large_multiset_is_counted_exactly():
    """Ten candidates, 200,000 ballots as a weighted multiset: exact totals in every round."""
    rng = random.Random(7)
    names = "ABCDEFGHIJ"
    multiset: dict = {}
    for _ in range(20_000):
        ranking = rng.sample(names, rng.randint(1, 10))
        marks = tuple((c, r) for r, c in enumerate(ranking, start=1))
        multiset[marks] = multiset.get(marks, 0) + rng.randint(1, 20)
    contest = irv(names)
    outcome = METHODS["instant-runoff"].count(contest, multiset)
    total = sum(multiset.values())
    for r in outcome.rounds:
        assert sum(r.tallies.values()) + r.exhausted == total
    first = {c: 0 for c in names}
    for marks, weight in multiset.items():
        first[marks[0][0]] += weight
    assert outcome.rounds[0].tallies == first
