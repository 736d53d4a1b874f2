"""The interchange format: reading documents, the result contract, and the examples of docs/interchange.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from counting import METHODS, Ballot, DefinitionError
from counting.interchange import count_document, load_document
from counting.table import format_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "interchange.md"
ROUND_BASED = ("instant-runoff", "meek-stv")
ROUND_KEYS = {"round", "tallies", "threshold", "elected", "eliminated", "exhausted", "exhausted_by", "tie_breaks"}
SAMPLE_MARKS = {
    "check": [[["A", 1]], [["B", 1]], [["A", 1]]],
    "points": [[["A", 1]], [["B", 1]], [["A", 1]]],
    "rank": [[["A", 1], ["B", 2], ["C", 3]], [["B", 1], ["C", 2]], [["A", 1], ["C", 2]], [["C", 1]]],
    "pair": [[["A", "B"], ["B", "C"]], [["A", "C"]], [["C", "B"]]],
}


def document(method: str = "plurality-at-large", ballots=None, **contest) -> dict:
    marks = SAMPLE_MARKS[METHODS[method].mark_kind]
    candidates = [
        {"id": c, "name": f"Candidate {c}", "category": "team-1", "gender": g, "tie_break_key": i}
        for i, (c, g) in enumerate(zip("ABC", "FMF", strict=True))
    ]
    return {
        "contest": {"id": "c1", "method": method, "candidates": candidates, **contest},
        "ballots": [{"marks": m} for m in marks] if ballots is None else ballots,
    }


def doc_examples() -> dict[str, dict]:
    """The JSON blocks of docs/interchange.md marked `<!-- example-<kind>: <name> -->`."""
    blocks = re.findall(r"<!-- example-(\w+): (\w+) -->\s*```json\n(.*?)```", DOCS.read_text(), re.S)
    return {f"{kind}:{name}": json.loads(text) for kind, name, text in blocks}


@pytest.mark.parametrize(
    "doc, field",
    [
        ([], "document"),
        ("text", "document"),
        ({"ballots": []}, "contest"),
        ({"contest": {}}, "ballots"),
        ({"contest": {}, "ballots": {}}, "ballots"),
        ({"contest": [], "ballots": []}, "contest"),
        ({"contest": {"method": "approval", "candidates": []}, "ballots": []}, "contest.id"),
        (document(seats=0), "contest.seats"),
        (document(method="plurality-at-large", max_votes=1, min_votes=2), "contest.max_votes"),
        ({**document(), "census": -1}, "census"),
        ({**document(), "census": "200"}, "census"),
        ({**document(), "census": True}, "census"),
    ],
)
def test_a_document_that_cannot_be_counted_names_the_field(doc, field):
    with pytest.raises(DefinitionError) as err:
        count_document(doc)
    assert err.value.field == field


def test_unreadable_records_are_kept_as_defects():
    contest, ballots = load_document(document(ballots=[{"marks": [["A", 1]]}, 7, {"marks": "A"}]))
    assert contest.id == "c1"
    assert ballots == [Ballot(marks=(("A", 1),)), Ballot(defect="malformed-record"), Ballot(defect="malformed-marks")]


def test_census_gives_turnout():
    result = count_document({**document(), "census": 6})
    assert (result["census"], result["percentages"]["turnout"]) == (6, "50")
    assert count_document(document())["census"] is None


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_gives_the_contract_fields(method):
    result = count_document(document(method, seats=1))
    json.dumps(result, sort_keys=True)
    assert set(result["totals"]) >= {"total_votes", "valid", "blank", "invalid_explicit", "invalid_implicit"}
    assert isinstance(result["winners"], list) and isinstance(result["ties"], list)
    assert {c["id"] for c in result["candidates"] if c["is_winner"]} == set(result["winners"])
    for candidate in result["candidates"]:
        assert set(candidate) >= {"id", "total_count", "rank", "is_winner"}
        assert isinstance(candidate["total_count"], (int, str))
    if method in ROUND_BASED:
        assert result["rounds"] and [r["round"] for r in result["rounds"]] == list(range(1, len(result["rounds"]) + 1))
        assert all(set(r) >= ROUND_KEYS for r in result["rounds"])


@pytest.mark.parametrize("operation", ["process-ballots-all", "aggregate-results"])
def test_additive_methods_count_the_same_pooled_or_aggregated(operation):
    plain = count_document(document())
    assert count_document(document(annotations={"tally_operation": operation})) == plain


def test_skip_candidate_results_gives_participation_only():
    result = count_document(document(annotations={"tally_operation": "skip-candidate-results"}))
    assert (result["candidates"], result["winners"]) == ([], [])
    assert result["totals"]["valid"] == 3
    assert "candidate results not computed" in format_table(result)


@pytest.mark.parametrize("method", sorted(m for m in METHODS if METHODS[m].preferential or not METHODS[m].additive))
def test_aggregate_results_is_refused_for_methods_that_need_every_ballot(method):
    with pytest.raises(DefinitionError) as err:
        count_document(document(method, annotations={"tally_operation": "aggregate-results"}))
    assert err.value.field == "contest.annotations.tally_operation"


def test_docs_example_output_is_what_the_engine_prints():
    examples = doc_examples()
    assert examples["output:council"] == count_document(examples["input:council"])


def test_docs_ranked_example_counts_as_described():
    if "instant-runoff" not in METHODS:
        pytest.skip("instant-runoff is not registered yet")
    result = count_document(doc_examples()["input:mayor"])
    assert result["winners"] == ["A"]
    assert [r["tallies"] for r in result["rounds"]] == [{"A": 4, "B": 4, "C": 2}, {"A": 5, "B": 5}]
    assert result["rounds"][0]["eliminated"] == ["C"]
    assert result["totals"]["invalid_explicit"] == 1


def test_docs_meek_dynamic_quota_example_counts_as_described():
    from fractions import Fraction

    document = doc_examples()["input:meek_dynamic"]
    dynamic = count_document(document)
    assert dynamic["winners"] == ["A", "D"]
    rounds = dynamic["rounds"]
    assert [Fraction(r["threshold"]).limit_denominator(100) for r in rounds] == [3, Fraction(7, 3), Fraction(59, 27)]
    assert [r["ended_by"] for r in rounds] == ["quota", None, "quota"]
    assert [r["elected"] for r in rounds] == [["A"], [], ["D"]]
    assert rounds[0]["keep_factors"]["A"] == "0.5"
    assert Fraction(rounds[1]["keep_factors"]["A"]).limit_denominator(100) == Fraction(7, 18)
    assert [Fraction(r["exhausted"]).limit_denominator(100) for r in rounds[1:]] == [2, Fraction(22, 9)]
    assert Fraction(rounds[2]["tallies"]["D"]).limit_denominator(100) == Fraction(20, 9)
    assert dynamic["quota"] == rounds[-1]["threshold"]

    fixed = count_document({**document, "contest": {**document["contest"], "options": {"quota": "droop"}}})
    assert fixed["quota"] == 4 and fixed["winners"] == ["A", "B"]
    assert [(r["elected"], r["eliminated"], r["ended_by"]) for r in fixed["rounds"]] == [
        (["A"], [], "quota"), ([], ["D"], "surplus-bound"), (["B"], [], "seats-filled")]
    assert Fraction(fixed["rounds"][1]["tallies"]["D"]).limit_denominator(100) == Fraction(5, 3)


def test_table_shows_participation_candidates_ties_and_notes():
    ballots = [{"marks": [["A", 1]]}, {"marks": [["B", 1]]}, {"marks": []}, {"marks": [["Z", 1]]}]
    text = format_table(count_document({**document(ballots=ballots), "census": 8}))
    assert "Contest c1: plurality-at-large, 1 seat" in text and "Winners: A" in text
    assert re.search(r"Turnout\s+50%", text) and re.search(r"Valid\s+2\s+50%", text)
    assert re.search(r"unknown-candidate\s+1", text)
    assert re.search(r"1\s+A\s+Candidate A\s+1\s+50%\s+\*", text)
    assert "candidate-id-asc" in text and "resolved by candidateId ASC" in text


def test_table_lays_out_rounds_and_prints_long_decimals_whole():
    result = {
        "contest": "m",
        "method": "meek-stv",
        "seats": 2,
        "winners": ["A"],
        "quota": "3.0000000001",
        "candidates": [{"id": "A", "total_count": 5, "rank": 1, "is_winner": True, "percentage_votes": "50"}],
        "rounds": [
            {"round": 1, "tallies": {"A": 4, "B": 2}, "threshold": 3, "elected": ["A"], "eliminated": []},
            {"round": 2, "tallies": {"A": "3.000000000000001"}, "threshold": 3, "elected": [], "eliminated": ["B"]},
        ],
    }
    text = format_table(result)
    assert "…" not in text and "Quota: 3.0000000001" in text  # issue 27: figures were cut to "3.0000…"
    assert re.search(r"B\s+2\s+-", text) and re.search(r"A\s+4\s+3\.000000000000001$", text, re.M)
    assert re.search(r"Eliminated\s+B", text)
