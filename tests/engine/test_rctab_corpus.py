"""RCTab's certified rule cases (../shared/corpus/rctab): the engine must reproduce every round."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import counting

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rctab"
CASES = sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not CASES, reason=f"the RCTab corpus is not checked out beside the repo at {CORPUS}")


def tally(case: Path) -> tuple[dict, dict]:
    doc = json.loads(case.read_text())
    contest = counting.parse_contest(doc["input"]["contest"])
    ballots = counting.parse_ballots(doc["input"]["ballots"])
    return counting.count(contest, ballots).to_json(), doc["expected"]


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_rctab_case_is_reproduced_round_by_round(case):
    result, expected = tally(case)
    assert result["winners"] == expected["winners"]
    assert len(result["rounds"]) == len(expected["rounds"])
    for got, want in zip(result["rounds"], expected["rounds"], strict=True):
        where = f"round {want['round']}"
        assert got["round"] == want["round"], where
        assert got["tallies"] == want["tallies"], where
        assert got["threshold"] == want["threshold"], where
        assert got["elected"] == want["elected"], where
        assert sorted(got["eliminated"]) == want["eliminated"], where


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_rctab_case_keeps_every_ballot_accounted_for(case):
    result, _ = tally(case)
    valid = result["totals"]["valid"]
    for r in result["rounds"]:
        assert sum(r["tallies"].values()) + r["exhausted"] == valid
    assert result["totals"]["total_votes"] == valid + result["totals"]["blank"] + result["totals"][
        "invalid_explicit"
    ] + result["totals"]["invalid_implicit"]


def test_the_corpus_holds_the_ten_cases_its_readme_names():
    assert len(CASES) == 10
