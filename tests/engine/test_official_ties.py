"""Ties an official decides (`tie_break: "official"`, counting/official.py), in every method.

Each method counts a contest whose ballots tie two candidates exactly: the count stops naming the tie, and with
the official's decision recorded for it goes on and does what the official chose, recording the tie's rule as
`official-decision`."""

from __future__ import annotations

import pytest

from counting import METHODS, CountingError, DefinitionError, count, parse_ballots, parse_contest
from counting.mark_kinds import MARK_KINDS
from counting.official import TieNeedsDecision


def tied_contest(method: str, **options) -> tuple[dict, list[dict]]:
    """One seat, A and B, two voters each way: a tie no rule but the last resort settles."""
    kind = MARK_KINDS[METHODS[method].mark_kind]
    # one team (desborda's guarantees would otherwise give the seat by team name), but for Madrid's block
    # vote, which a ballot listing the whole of a one-candidate team would be
    teams = {"A": "red", "B": "blue"} if method == "borda-mas-madrid" else {"A": "team", "B": "team"}
    candidates = [{"id": c, "category": teams[c], "gender": "F"} for c in "AB"]
    contest = {"id": "t", "method": method, "seats": 1, "candidates": candidates,
               "options": {"tie_break": "official", **options}}
    orders = (["A"], ["B"]) if method == "plurality-at-large" else (["A", "B"], ["B", "A"])
    return contest, [{"marks": kind.marks_for(order), "weight": 2} for order in orders]


def counted(contest: dict, ballots: list[dict]) -> dict:
    return count(parse_contest(contest), parse_ballots(ballots)).to_json()


def decided(method: str, favourite: str) -> tuple[dict, list[dict]]:
    """The count with each tie it stops at decided for `favourite` (elected, or kept when one is eliminated)."""
    contest, ballots = tied_contest(method)
    decisions: list[dict] = []
    for _ in range(4):
        contest["options"]["tie_decisions"] = decisions
        try:
            return counted(contest, ballots), decisions
        except TieNeedsDecision as stop:
            keep = stop.purpose != "eliminate"
            ranked = sorted(stop.candidates, key=lambda c: (c == favourite) != keep)
            decisions.append({"round": stop.round, "purpose": stop.purpose, "candidates": stop.candidates,
                              "chosen": ranked[: stop.choose], **({"pass": stop.pass_number} if stop.pass_number else {})})
    raise AssertionError(f"{method}: still stopping after {decisions}")


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_stops_at_the_tie_and_names_it(method):
    contest, ballots = tied_contest(method)
    with pytest.raises(TieNeedsDecision) as stop:
        counted(contest, ballots)
    assert stop.value.candidates == ["A", "B"] and stop.value.choose == 1
    assert "are tied and the rules leave the tie to an official" in str(stop.value)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("favourite", ["A", "B"])
def test_every_method_goes_on_with_the_decision_recorded(method, favourite):
    result, decisions = decided(method, favourite)
    assert decisions
    assert [c["id"] for c in result["candidates"] if c["is_winner"]] == [favourite]
    assert any(t["rule"] == "official-decision" for t in result["ties"])


def test_without_the_option_the_tie_order_decides_as_before():
    contest, ballots = tied_contest("instant-runoff")
    del contest["options"]["tie_break"]
    result = counted(contest, ballots)
    assert result["winners"] == ["A"] and result["ties"][0]["rule"] == "candidate-id-asc"


def test_a_tie_that_earlier_rounds_settle_never_asks():
    contest = {"id": "t", "method": "instant-runoff", "candidates": [{"id": c} for c in "ABC"],
               "options": {"tie_break": "official"}}
    # round 2: B and C tie at 3; round 1 had C below B, so C goes without asking
    ballots = [{"marks": [["A", 1]], "weight": 5}, {"marks": [["B", 1]], "weight": 3},
               {"marks": [["C", 1]], "weight": 2}, {"marks": [["D", 1], ["C", 2]], "weight": 1}]
    contest["candidates"].append({"id": "D"})
    result = counted(contest, ballots)
    assert all(t["rule"] != "official-decision" for t in result["ties"])


@pytest.mark.parametrize(("options", "field"), [
    ({"tie_break": "coin"}, "contest.options.tie_break"),
    ({"tie_decisions": {"round": 1}}, "contest.options.tie_decisions"),
    ({"tie_decisions": [{"round": 0, "purpose": "elect", "candidates": ["A"], "chosen": ["A"]}]},
     "contest.options.tie_decisions[0].round"),
    ({"tie_decisions": [{"round": 1, "purpose": "pick", "candidates": ["A"], "chosen": ["A"]}]},
     "contest.options.tie_decisions[0].purpose"),
    ({"tie_decisions": [{"round": 1, "purpose": "elect", "candidates": ["A", "Z"], "chosen": ["A"]}]},
     "contest.options.tie_decisions[0].candidates"),
    ({"tie_decisions": [{"round": 1, "purpose": "elect", "candidates": ["A", "B"], "chosen": ["C"]}]},
     "contest.options.tie_decisions[0].chosen"),
])
def test_a_malformed_decision_is_refused_naming_it(options, field):
    contest = {"id": "t", "method": "plurality-at-large", "candidates": [{"id": c} for c in "ABC"],
               "options": options}
    with pytest.raises(DefinitionError) as refused:
        parse_contest(contest)
    assert refused.value.field == field


def test_a_decision_choosing_too_many_is_refused_when_the_tie_comes():
    contest, ballots = tied_contest("plurality-at-large", tie_decisions=[
        {"round": None, "purpose": "cutoff", "candidates": ["A", "B"], "chosen": ["A", "B"]}])
    with pytest.raises(CountingError, match="chooses 2 candidate"):
        counted(contest, ballots)
