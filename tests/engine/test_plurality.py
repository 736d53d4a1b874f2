"""Plurality-at-large, approval and cumulative: totals, winners, ties at the cutoff."""

from __future__ import annotations

import pytest

from counting import Ballot, Candidate, Contest, DefinitionError, count
from counting.outcome import NO_VALID_VOTES
from counting.ranking import CUTOFF_NOTE, ORDER_NOTE


def contest(method: str = "plurality-at-large", seats: int = 1, candidates: str = "ABC", **kw) -> Contest:
    return Contest(id="t", method=method, candidates=tuple(Candidate(c) for c in candidates), seats=seats, **kw)


def votes(**counts: int) -> list[Ballot]:
    return [Ballot(marks=((c, 1),)) for c, n in counts.items() for _ in range(n)]


def totals(result) -> dict:
    return {c["id"]: c["total_count"] for c in result.to_json()["candidates"]}


def test_seed_api_tie_at_cutoff_is_resolved_by_candidate_id_and_noted():
    result = count(contest(max_votes=1), votes(C=30, B=50, A=50)).to_json()
    assert result["winners"] == ["A"]
    assert result["notes"] == [CUTOFF_NOTE] == ["Tie detected at cutoff; resolved by candidateId ASC"]
    assert result["ties"] == [
        {"round": None, "purpose": "cutoff", "candidates": ["A", "B"], "chosen": ["A"], "rule": "candidate-id-asc"}
    ]
    assert [(c["id"], c["rank"], c["is_winner"]) for c in result["candidates"]] == [
        ("A", 1, True),
        ("B", 2, False),
        ("C", 3, False),
    ]


def test_tie_break_order_option_decides_the_cutoff():
    result = count(contest(options={"tie_break_order": ["B", "A", "C"]}), votes(A=50, B=50, C=30)).to_json()
    assert result["winners"] == ["B"]
    assert result["notes"] == [ORDER_NOTE]


def test_no_tie_no_note():
    result = count(contest(), votes(A=51, B=50, C=30)).to_json()
    assert (result["winners"], result["notes"], result["ties"]) == (["A"], [], [])


def test_a_tie_below_the_cutoff_is_not_a_cutoff_tie():
    result = count(contest(), votes(A=60, B=30, C=30)).to_json()
    assert result["ties"] == [] and result["winners"] == ["A"]


def test_plurality_at_large_elects_the_top_seats_in_order():
    ballots = [Ballot(marks=(("A", 1), ("B", 1)))] * 3 + [Ballot(marks=(("C", 1), ("B", 1)))] * 2
    result = count(contest(seats=2, max_votes=2), ballots)
    assert result.winners == ["B", "A"]
    assert totals(result) == {"B": 5, "A": 3, "C": 2}
    assert [c["percentage_votes"] for c in result.to_json()["candidates"]] == ["50", "30", "20"]


def test_weight_multiplies_every_mark():
    result = count(contest(), [Ballot(marks=(("B", 1),), weight=7), Ballot(marks=(("A", 1),), weight=3)])
    assert totals(result) == {"B": 7, "A": 3, "C": 0}
    assert result.participation.total_votes == 10 and result.participation.total_ballots == 2


def test_approval_allows_every_candidate_by_default():
    ballots = [Ballot(marks=(("A", 1), ("B", 1), ("C", 1))), Ballot(marks=(("B", 1),))]
    result = count(contest("approval"), ballots)
    assert result.participation.valid == 2 and result.participation.expected_votes == 6
    assert totals(result) == {"B": 2, "A": 1, "C": 1}
    assert result.winners == ["B"]


def test_approval_respects_an_explicit_max_votes():
    result = count(contest("approval", max_votes=2), [Ballot(marks=(("A", 1), ("B", 1), ("C", 1)))])
    assert result.participation.invalid_reasons == {"too-many-marks": 1}


def test_cumulative_adds_checks_times_weight():
    cumulative = contest("cumulative", seats=2, max_votes=2, options={"checks": 3})
    ballots = [
        Ballot(marks=(("A", 3), ("B", 1))),
        Ballot(marks=(("C", 2),), weight=2),
        Ballot(marks=(("A", 4),)),  # more checks than allowed: invalid
    ]
    result = count(cumulative, ballots)
    assert totals(result) == {"C": 4, "A": 3, "B": 1}
    assert result.winners == ["C", "A"]
    assert result.participation.invalid_reasons == {"invalid-value": 1}
    assert result.participation.votes_actually == 4  # marked candidates, not checks


@pytest.mark.parametrize("checks", [0, -1, True, "2"])
def test_cumulative_refuses_bad_checks(checks):
    with pytest.raises(DefinitionError) as err:
        count(contest("cumulative", options={"checks": checks}), [])
    assert err.value.field == "contest.options.checks"


def test_an_empty_count_is_a_valid_result():
    result = count(contest(), []).to_json()
    assert result["totals"]["total_votes"] == 0
    assert all(c["percentage_votes"] == "0" for c in result["candidates"])
    assert result["winners"] == [] and result["ties"] == []  # no valid votes: no tie-break picks a winner
    assert [c["rank"] for c in result["candidates"]] == [1, 2, 3]  # every candidate is still listed
    assert result["notes"] == [NO_VALID_VOTES]



def test_an_undeclared_write_in_is_passed_over_and_the_next_candidate_takes_the_seat():
    field = Contest(
        id="t",
        method="plurality-at-large",
        candidates=(Candidate("W", undeclared_write_in=True), Candidate("A"), Candidate("B"), Candidate("C")),
        seats=2,
    )
    result = count(field, votes(W=90, A=50, B=30, C=30)).to_json()
    assert result["winners"] == ["A", "B"]  # not ["A"]: the write-in pool leaves no seat vacant
    assert [(c["id"], c["rank"], c["is_winner"]) for c in result["candidates"]] == [
        ("A", 1, True),
        ("B", 2, True),
        ("W", 3, False),
        ("C", 4, False),
    ]
    # B and C tie for the last seat: a cutoff tie between eligible candidates, the write-in not among them.
    assert result["ties"] == [
        {"round": None, "purpose": "cutoff", "candidates": ["B", "C"], "chosen": ["B"], "rule": "candidate-id-asc"}
    ]


def test_a_write_in_tied_at_the_cutoff_is_not_a_cutoff_tie():
    field = Contest(
        id="t",
        method="plurality-at-large",
        candidates=(Candidate("A"), Candidate("B"), Candidate("W", undeclared_write_in=True)),
    )
    result = count(field, votes(A=50, W=50, B=10)).to_json()
    assert (result["winners"], result["ties"], result["notes"]) == (["A"], [], [])
