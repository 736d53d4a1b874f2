"""The Condorcet family (schulze, ranked-pairs, copeland, minimax): worked examples, and pref_voting's
counts of the same random profiles (pref_voting is a test dependency).

pref_voting returns every candidate some tie-breaking would elect; we break ties by the contest's tie
order. So winners are compared where pref_voting's rule has exactly one winner. Its ranked pairs tries
every order of equal margins, which grows fast with ties, so ranked pairs is compared on profiles whose
pairs all have distinct, non-zero margins; the other rules on every profile.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from counting import METHODS, DefinitionError, count, parse_ballots, parse_contest
from counting.outcome import NO_VALID_VOTES
from counting.ranking import CUTOFF_NOTE, ORDER_NOTE

CONDORCET = ("schulze", "ranked-pairs", "copeland", "minimax")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def contest(method: str, ids: str = "ABC", tie_break_order=None, **fields) -> dict:
    if tie_break_order is not None:
        fields["options"] = {"tie_break_order": list(tie_break_order)}
    return {"id": "c", "method": method, "candidates": [{"id": c} for c in ids], **fields}


def ranked(order: str, weight: int = 1) -> dict:
    return {"marks": [[c, r] for r, c in enumerate(order, start=1)], "weight": weight}


def run(definition: dict, records: list[dict]) -> dict:
    return count(parse_contest(definition), parse_ballots(records)).to_json()


# The Schulze method's example in the Wikipedia article (and Schulze's paper): 45 voters, 5 candidates.
WIKIPEDIA = [
    ranked("ACBED", 5), ranked("ADECB", 5), ranked("BEDAC", 8), ranked("CABED", 3),
    ranked("CAEBD", 7), ranked("CBADE", 2), ranked("DCEBA", 7), ranked("EBADC", 8),
]
# The article's matrix d[X][Y]: voters preferring X to Y.
WIKIPEDIA_D = {
    "A": {"B": 20, "C": 26, "D": 30, "E": 22},
    "B": {"A": 25, "C": 16, "D": 33, "E": 18},
    "C": {"A": 19, "B": 29, "D": 17, "E": 24},
    "D": {"A": 15, "B": 12, "C": 28, "E": 14},
    "E": {"A": 23, "B": 27, "C": 21, "D": 31},
}
# The article's strongest paths, by winning votes; with complete rankings a margin is 2 x votes - 45.
WIKIPEDIA_P = {
    "A": {"B": 28, "C": 28, "D": 30, "E": 24},
    "B": {"A": 25, "C": 28, "D": 33, "E": 24},
    "C": {"A": 25, "B": 29, "D": 29, "E": 24},
    "D": {"A": 25, "B": 28, "C": 28, "E": 24},
    "E": {"A": 25, "B": 28, "C": 28, "D": 31},
}


def test_schulze_wikipedia_example_elects_e_and_ranks_e_a_c_b_d():
    result = run(contest("schulze", "ABCDE"), WIKIPEDIA)
    assert result["winners"] == ["E"]
    assert [c["id"] for c in result["candidates"]] == list("EACBD")
    (only,) = result["rounds"]
    assert only["pairwise"] == WIKIPEDIA_D
    assert only["strongest_paths"] == {x: {y: 2 * v - 45 for y, v in row.items()} for x, row in WIKIPEDIA_P.items()}
    assert only["smith_set"] == list("ABCDE")
    assert only["elected"] == ["E"] and result["ties"] == []
    assert run(contest("schulze", "ABCDE", seats=2), WIKIPEDIA)["winners"] == ["E", "A"]


def test_ranked_pairs_on_the_same_example_locks_largest_margins_first_and_elects_a():
    result = run(contest("ranked-pairs", "ABCDE"), WIKIPEDIA)
    assert result["winners"] == ["A"]
    assert [c["id"] for c in result["candidates"]] == list("ACEBD")
    only = result["rounds"][0]
    assert only["locked"] == [["B", "D", 21], ["E", "D", 17], ["A", "D", 15], ["C", "B", 13], ["E", "B", 9],
                              ["A", "C", 7], ["C", "E", 3]]
    assert only["skipped"] == [["D", "C", 11], ["B", "A", 5], ["E", "A", 1]]
    assert run(contest("ranked-pairs", "ABCDE", seats=3), WIKIPEDIA)["winners"] == ["A", "C", "E"]


def test_copeland_and_minimax_on_the_same_example():
    copeland = run(contest("copeland", "ABCDE"), WIKIPEDIA)
    assert copeland["winners"] == ["E"]
    assert {c["id"]: c["total_count"] for c in copeland["candidates"]} == {"E": 3, "A": 2, "B": 2, "C": 2, "D": 1}
    assert copeland["rounds"][0]["pairwise_record"]["E"] == {"wins": 3, "ties": 0, "losses": 1}
    minimax = run(contest("minimax", "ABCDE"), WIKIPEDIA)
    assert minimax["winners"] == ["E"]
    # worst defeats: A by B (5), B by C (13), C by D (11), D by B (21), E by C (3)
    assert minimax["rounds"][0]["worst_defeat"] == {"A": 5, "B": 13, "C": 11, "D": 21, "E": 3}
    assert [c["id"] for c in minimax["candidates"]] == list("EACBD")
    assert {c["id"]: c["total_count"] for c in minimax["candidates"]}["E"] == 45 - 3


# Tennessee's capital (the Wikipedia articles' example): Nashville is the Condorcet winner.
TENNESSEE = [ranked("MNCK", 42), ranked("NCKM", 26), ranked("CKNM", 15), ranked("KCNM", 17)]


@pytest.mark.parametrize("method", CONDORCET)
def test_a_condorcet_winner_is_elected_by_every_method(method):
    result = run(contest(method, "MNCK"), TENNESSEE)
    assert result["winners"] == ["N"]
    assert result["rounds"][0]["smith_set"] == ["N"]
    assert result["ties"] == []
    # minimax ranks Memphis second: it loses every contest, but each only by 16 (C's worst is 36, K's 66)
    assert [c["id"] for c in result["candidates"]] == list("NMCK" if method == "minimax" else "NCKM")


CYCLE = [ranked("ABC", 40), ranked("BCA", 35), ranked("CAB", 25)]  # A>B by 30, B>C by 50, C>A by 20


@pytest.mark.parametrize("method", ["schulze", "ranked-pairs", "minimax"])
def test_a_condorcet_cycle_is_broken_at_its_weakest_defeat(method):
    result = run(contest(method, tie_break_order=["C", "B", "A"]), CYCLE)
    assert result["winners"] == ["A"]
    assert result["rounds"][0]["smith_set"] == ["A", "B", "C"]
    assert result["ties"] == []


def test_copeland_cannot_break_a_cycle_and_records_the_tie_order():
    result = run(contest("copeland", tie_break_order=["C", "B", "A"]), CYCLE)
    assert result["winners"] == ["C"]
    assert [c["total_count"] for c in result["candidates"]] == [1, 1, 1]
    assert result["ties"] == [{"round": 1, "purpose": "cutoff", "candidates": ["C", "B", "A"], "chosen": ["C"],
                               "rule": "tie-break-order"}]
    assert result["rounds"][0]["tie_breaks"] == result["ties"] and ORDER_NOTE in result["notes"]


SYMMETRIC = [ranked("ABC"), ranked("BCA"), ranked("CAB")]  # every margin is 1: only the tie order decides


@pytest.mark.parametrize("method", CONDORCET)
def test_a_perfect_cycle_is_decided_by_the_tie_order_and_recorded(method):
    default = run(contest(method), SYMMETRIC)
    assert default["winners"] == ["A"]
    assert any(t["rule"] == "candidate-id-asc" for t in default["ties"])
    assert CUTOFF_NOTE in default["notes"] or method == "ranked-pairs"  # its tie is among pairs (below)
    ordered = run(contest(method, tie_break_order=["B", "C", "A"]), SYMMETRIC)
    assert ordered["winners"] == ["B"]
    assert all(t["rule"] == "tie-break-order" for t in ordered["ties"])


def test_ranked_pairs_records_equal_margins_whose_order_decided_what_was_locked():
    result = run(contest("ranked-pairs", tie_break_order=["B", "C", "A"]), SYMMETRIC)
    only = result["rounds"][0]
    # Zavist-Tideman: the pair with the more favoured winner first: B>C, then C>A; A>B would close the cycle.
    assert only["locked"] == [["B", "C", 1], ["C", "A", 1]] and only["skipped"] == [["A", "B", 1]]
    lock = [t for t in result["ties"] if t["purpose"] == "lock"]
    assert lock == [{"round": 1, "purpose": "lock", "candidates": ["B", "C", "A"], "chosen": ["B", "C"],
                     "rule": "tie-break-order"}]
    assert [c["id"] for c in result["candidates"]] == ["B", "C", "A"]


def test_ranked_pairs_same_winner_locks_over_the_less_favoured_loser_first():
    # A beats B and C by 1 each, B and C tie; with one seat and A the Condorcet winner nothing is a tie of
    # winners, and the pairs of equal margin fit together whatever their order: nothing is recorded.
    result = run(contest("ranked-pairs"), [ranked("ABC"), ranked("ACB"), ranked("BCA"), ranked("CBA"), ranked("A")])
    assert result["rounds"][0]["locked"] == [["A", "C", 1], ["A", "B", 1]]
    assert result["winners"] == ["A"] and result["ties"] == []


def test_unranked_candidates_are_below_every_ranked_one_and_level_with_each_other():
    result = run(contest("schulze", "ABCD"), [ranked("A", 3), ranked("BC", 2), {"marks": [["D", 1], ["A", 3]]}])
    pairwise = result["rounds"][0]["pairwise"]
    assert pairwise["A"] == {"B": 4, "C": 4, "D": 3}  # 3 A-only ballots and the D>A one (A over B, C)
    assert pairwise["B"] == {"A": 2, "C": 2, "D": 2}
    assert pairwise["C"] == {"A": 2, "B": 0, "D": 2}
    assert pairwise["D"] == {"A": 1, "B": 1, "C": 1}  # a gap in the ranks does not matter
    assert result["winners"] == ["A"]


def test_an_overvote_or_a_repeat_makes_the_ballot_invalid():
    records = [ranked("AB"), {"marks": [["A", 1], ["B", 1]]}, {"marks": [["A", 1], ["A", 2]]}]
    result = run(contest("schulze"), records)
    assert result["totals"]["valid"] == 1
    assert result["totals"]["invalid_reasons"] == {"duplicate-candidate": 1, "overvote": 1}


@pytest.mark.parametrize("method", CONDORCET)
@pytest.mark.parametrize(
    "options, field",
    [
        ({"overvote_rule": "always-skip-to-next-rank"}, "contest.options.overvote_rule"),
        ({"duplicate_candidate_rule": "skip"}, "contest.options.duplicate_candidate_rule"),
        ({"max_skipped_ranks": 1}, "contest.options.max_skipped_ranks"),
        ({"batch_elimination": True}, "contest.options.batch_elimination"),
        ({"tie_break_order": ["A", "Z"]}, "contest.options.tie_break_order"),
        ({"tie_break_order": ["A", "A"]}, "contest.options.tie_break_order"),
    ],
)
def test_options_it_cannot_count_are_refused_naming_the_field(method, options, field):
    with pytest.raises(DefinitionError) as error:
        parse_contest(contest(method, options=options))
    assert error.value.field == field


@pytest.mark.parametrize("method", CONDORCET)
def test_registered_as_preferential_ranked_methods_counted_pooled(method):
    rule = METHODS[method]
    assert (rule.mark_kind, rule.preferential, rule.additive) == ("rank", True, False)


@pytest.mark.parametrize("method", CONDORCET)
def test_an_undeclared_write_in_is_never_elected(method):
    definition = contest(method, "ABW", seats=2)
    definition["candidates"][2]["undeclared_write_in"] = True
    result = run(definition, [ranked("WAB", 5), ranked("BWA", 3)])  # W beats both, A beats B
    # minimax: A's worst defeat is by 8 (to W), B's by 2 (to W and to A)
    assert result["winners"] == (["B", "A"] if method == "minimax" else ["A", "B"])
    assert [c["id"] for c in result["candidates"]][2] == "W"


@pytest.mark.parametrize("method", CONDORCET)
def test_several_seats_take_the_top_of_the_order_and_a_split_level_is_a_tie(method):
    # A beats everyone; B, C, D are level (every pair between them ties): the second seat is the tie order's.
    records = [ranked("ABCD"), ranked("ADCB")]
    result = run(contest(method, "ABCD", seats=2, tie_break_order=["D", "C", "B", "A"]), records)
    assert result["rounds"][0]["pairwise"]["B"] == {"A": 0, "C": 1, "D": 1}
    assert result["winners"] == ["A", "D"]
    (tie,) = result["ties"]
    assert (tie["candidates"], tie["chosen"], tie["rule"]) == (["D", "C", "B"], ["D"], "tie-break-order")


def test_with_no_ballots_nobody_is_elected():
    result = run(contest("schulze", seats=2), [])
    assert result["winners"] == [] and "rounds" not in result and result["ties"] == []
    assert result["notes"] == [NO_VALID_VOTES] and result["candidates"][0]["percentage_votes"] == "0"


def test_docs_example_counts_as_described():
    import json
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "interchange.md").read_text()
    (block,) = re.findall(r"<!-- example-input: condorcet_cycle -->\s*```json\n(.*?)```", text, re.S)
    document = json.loads(block)
    winners = {}
    assert document["contest"]["method"] == "schulze"
    for method in CONDORCET:
        document["contest"]["method"] = method
        outcome = run(document["contest"], document["ballots"])
        winners[method] = outcome["winners"]
        assert outcome["rounds"][0]["smith_set"] == ["A", "B", "C"]
        if method == "copeland":  # A, B and C win 2 contests each: the tie order takes A and B
            assert outcome["ties"][0]["candidates"] == ["A", "B", "C"]
        else:
            assert outcome["ties"] == []
    assert set(map(tuple, winners.values())) == {("A", "B")}


# ---------------------------------------------------------------------------------------------
# Against pref_voting


@st.composite
def strict_profiles(draw) -> tuple[int, list[tuple[int, ...]], list[int]]:
    """3 to 6 candidates; 1 to 12 distinct strict rankings of all of them, each with a weight."""
    n = draw(st.integers(3, 6))
    rankings = draw(st.lists(st.permutations(range(n)).map(tuple), min_size=1, max_size=12, unique=True))
    weights = draw(st.lists(st.integers(1, 20), min_size=len(rankings), max_size=len(rankings)))
    return n, rankings, weights


def ours(method: str, n: int, rankings, weights, tie_break_order=None) -> dict:
    ids = [f"c{i}" for i in range(n)]
    options = {"tie_break_order": [ids[i] for i in tie_break_order]} if tie_break_order else {}
    records = [{"marks": [[ids[c], r] for r, c in enumerate(ranking, 1)], "weight": w}
               for ranking, w in zip(rankings, weights, strict=True)]
    return run(contest(method, ids, options=options), records)


def theirs(n: int, rankings, weights):
    from pref_voting.profiles import Profile

    return Profile([list(r) for r in rankings], rcounts=list(weights))


def ids_of(indexes) -> list[str]:
    return [f"c{i}" for i in indexes]


@given(profile=strict_profiles(), data=st.data())
@SETTINGS
def test_matrix_and_smith_set_equal_pref_voting(profile, data):
    from pref_voting.c1_methods import smith_set

    n, rankings, weights = profile
    prof = theirs(n, rankings, weights)
    result = ours(data.draw(st.sampled_from(CONDORCET)), n, rankings, weights)
    pairwise = result["rounds"][0]["pairwise"]
    for x in range(n):
        for y in range(n):
            if x != y:
                assert pairwise[f"c{x}"][f"c{y}"] - pairwise[f"c{y}"][f"c{x}"] == prof.margin(x, y)
                assert pairwise[f"c{x}"][f"c{y}"] == prof.support(x, y)
    assert result["rounds"][0]["smith_set"] == ids_of(smith_set(prof))


@pytest.mark.parametrize("method", ["schulze", "copeland", "minimax"])
@given(profile=strict_profiles(), data=st.data())
@SETTINGS
def test_winners_agree_with_pref_voting(method, profile, data):
    from pref_voting.c1_methods import copeland
    from pref_voting.margin_based_methods import beat_path, minimax

    n, rankings, weights = profile
    rule = {"schulze": beat_path, "copeland": copeland, "minimax": minimax}[method]
    their_winners = rule(theirs(n, rankings, weights))
    tie_order = data.draw(st.permutations(range(n)))
    result = ours(method, n, rankings, weights, tie_order)
    assert result["winners"][0] in ids_of(their_winners)  # whatever the tie order, one of theirs
    if len(their_winners) == 1:
        assert result["winners"] == ids_of(their_winners)
        assert not [t for t in result["ties"] if t["purpose"] != "lock"]
    else:
        assert result["ties"]  # several winners: the tie order picked ours, and it says so


@st.composite
def untied_profiles(draw) -> tuple[int, list[tuple[int, ...]], list[int]]:
    """As `strict_profiles`, 6 to 12 rankings weighted by distinct powers of 2: a margin is then a sum of
    distinct powers of 2 with signs, never 0, and two margins are equal only when both pairs are ordered
    alike on every ballot (such profiles are left out)."""
    n = draw(st.integers(3, 6))
    rankings = draw(st.lists(st.permutations(range(n)).map(tuple), min_size=6, max_size=12, unique=True))
    return n, rankings, draw(st.permutations([2**i for i in range(len(rankings))]))


@given(profile=untied_profiles(), data=st.data())
@settings(SETTINGS, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_ranked_pairs_winner_agrees_with_pref_voting(profile, data):
    from pref_voting.margin_based_methods import ranked_pairs

    n, rankings, weights = profile
    prof = theirs(n, rankings, weights)
    strengths = [abs(prof.margin(x, y)) for x in range(n) for y in range(x + 1, n)]
    assume(0 not in strengths and len(set(strengths)) == len(strengths))  # no tie of any kind
    result = ours("ranked-pairs", n, rankings, weights, data.draw(st.permutations(range(n))))
    assert result["winners"] == ids_of(ranked_pairs(prof)) and result["ties"] == []


@pytest.mark.parametrize("method", CONDORCET)
@given(profile=strict_profiles(), seats=st.integers(1, 6))
@SETTINGS
def test_winners_lead_the_order_and_the_smith_set_holds_the_first(method, profile, seats):
    n, rankings, weights = profile
    ids = [f"c{i}" for i in range(n)]
    records = [{"marks": [[ids[c], r] for r, c in enumerate(ranking, 1)], "weight": w}
               for ranking, w in zip(rankings, weights, strict=True)]
    result = run(contest(method, ids, seats=min(seats, n)), records)
    assert len(result["winners"]) == min(seats, n)
    assert [c["id"] for c in result["candidates"]][: len(result["winners"])] == result["winners"]
    if method != "minimax":  # minimax may elect outside the Smith set; the other three never do
        assert result["winners"][0] in result["rounds"][0]["smith_set"]
