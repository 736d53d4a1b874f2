"""With no valid votes, a contest elects nobody, in every method, and its notes say why.

Every candidate is then tied at zero, so any winner would be picked by a tie-break no voter had a part in
(and a contest whose ties go to an official would stop to ask one to choose among candidates nobody voted
for). `counting.decide` and `counting.decide_totals`, which every count goes through (`tally count`, the
pipeline's areas and contests, `tally verify`), decide this once for all methods."""

from __future__ import annotations

import pytest

from counting import METHODS, count, decide, decide_totals, parse_ballots, parse_contest
from counting.interchange import count_document
from counting.mark_kinds import MARK_KINDS
from counting.outcome import NO_VALID_VOTES
from counting.result import NO_BALLOTS, ROUND_FIELDS, no_winners

IDS = ["A", "B", "C"]
SINGLE_SEAT = {"instant-runoff", "rcv"}  # rcv's default winner election mode counts one seat


def definition(method: str, **options) -> dict:
    return {
        "id": "z", "method": method, "seats": 1 if method in SINGLE_SEAT else 2,
        "candidates": [{"id": c, "category": "team-1" if c == "A" else "team-2", "gender": g}
                       for c, g in zip(IDS, "MFM", strict=True)],
        # a tie order that differs from the candidates' order: nobody is listed, or elected, by it
        "options": {"tie_break_order": ["C", "B", "A"], **options},
    }


NO_VALID = {
    "no ballots": [],
    "only blank ballots": [{"marks": []}, {"marks": [], "weight": 4}],
    "only invalid ballots": [
        {"marks": [["A", 1]], "explicit_invalid": True},  # spoiled
        {"marks": [["nobody", 1]], "weight": 3},  # an unknown candidate
        {"marks": "A"},  # unreadable
        "not a record",
    ],
}


def assert_nobody_elected(result: dict) -> None:
    assert result["winners"] == []
    assert result["notes"] == [NO_VALID_VOTES]
    assert result["ties"] == [] and not any(name in result for name in (*ROUND_FIELDS, "quota"))
    # the shape of any result: every candidate listed once, ranked, none a winner, with no votes
    assert [c["id"] for c in result["candidates"]] == IDS
    assert [c["rank"] for c in result["candidates"]] == [1, 2, 3]
    assert all(not c["is_winner"] and c["total_count"] == 0 and c["percentage_votes"] == "0"
               for c in result["candidates"])
    assert result["totals"]["valid"] == 0


@pytest.mark.parametrize("ballots", NO_VALID.values(), ids=NO_VALID.keys())
@pytest.mark.parametrize("method", sorted(METHODS))
def test_with_no_valid_votes_nobody_is_elected_and_the_notes_say_why(method, ballots):
    result = count(parse_contest(definition(method)), parse_ballots(ballots)).to_json()
    assert_nobody_elected(result)
    assert result["totals"]["total_votes"] == sum(b.get("weight", 1) if isinstance(b, dict) else 1 for b in ballots)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_tally_count_elects_nobody_too(method):
    """The interchange document `tally count` reads goes through the same entry point."""
    assert_nobody_elected(count_document({"contest": definition(method), "ballots": NO_VALID["only blank ballots"]}))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_ties_left_to_an_official_ask_nothing_when_nobody_voted(method):
    """Everyone is tied at zero, but no tie is broken, so no official is asked to break one."""
    contest = parse_contest(definition(method, tie_break="official"))
    assert_nobody_elected(count(contest, parse_ballots(NO_VALID["only invalid ballots"])).to_json())


@pytest.mark.parametrize("method", sorted(m for m in METHODS if METHODS[m].additive))
def test_an_additive_method_decided_from_summed_totals_elects_nobody_as_the_pooled_count(method):
    """The pipeline decides an additive contest from its areas' totals and valid votes (decide_totals)."""
    contest = parse_contest(definition(method))
    rule = METHODS[method]
    pooled = decide(contest, {})
    assert decide_totals(contest, rule.totals(contest, {}), 0) == pooled
    assert pooled.winners == [] and pooled.notes == [NO_VALID_VOTES]


def test_a_single_valid_vote_counts_as_before():
    """The rule is about zero valid votes only: one ballot, and the method decides."""
    for method in sorted(METHODS):
        kind = MARK_KINDS[METHODS[method].mark_kind]
        marks = kind.marks_for(["A", "B"] if kind.kind == "pair" else ["A"])  # a pair needs two candidates
        result = count(parse_contest(definition(method)), parse_ballots([{"marks": marks}])).to_json()
        assert result["winners"] and NO_VALID_VOTES not in result["notes"], method


def test_a_tally_with_no_ballots_at_all_says_so_in_one_note():
    """allow-empty: the period-level note replaces the engine's, which says less."""
    result = count(parse_contest(definition("plurality-at-large")), []).to_json()
    assert no_winners(result)["notes"] == [NO_BALLOTS]
