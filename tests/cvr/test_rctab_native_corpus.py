"""RCTab's native regression cases through `tally count --rctab-config`: every case whose rules the
engine has reproduces RCTab's detailed report round by round (tallies, elected, eliminated,
inactive ballots by reason, thresholds, ballot totals)."""

from __future__ import annotations

import json

import pytest

from cli.main import main

from .corpus import ABSENT, NEEDS_ISSUE_17, NOT_TABULATION, PRESENT, cases, config_of, missing_sources

pytestmark = pytest.mark.skipif(not PRESENT, reason=ABSENT)

CASES = cases()


def _tally(capsys, case, fmt="rctab"):
    code = main(["count", "--rctab-config", str(config_of(case)), "--format", fmt])
    out = capsys.readouterr()
    return code, out.out, out.err


def _decisions(round_report: dict) -> list[tuple[str, str]]:
    return sorted((k, r[k]) for r in round_report["tallyResults"] for k in ("elected", "eliminated") if k in r)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_reproduced_round_by_round(case, capsys):
    if case.name in NOT_TABULATION:
        pytest.skip(f"not a tabulation case: {NOT_TABULATION[case.name]}")
    missing = missing_sources(case)
    if missing:
        pytest.skip(f"CVR file missing from this copy of the corpus: {', '.join(missing)}")
    if case.name in NEEDS_ISSUE_17:
        pytest.skip(f"needs RCTab rule {NEEDS_ISSUE_17[case.name]} (issue 17)")
    code, out, err = _tally(capsys, case)
    assert code == 0, err
    got = json.loads(out)
    want = json.loads(next(case.glob("*_expected_detailed_report.json")).read_text())
    assert len(got["results"]) == len(want["results"])
    for ours, theirs in zip(got["results"], want["results"]):
        where = f"round {theirs['round']}"
        assert ours["round"] == theirs["round"], where
        assert ours["tally"] == theirs["tally"], where
        assert ours["threshold"] == theirs["threshold"], where
        assert _decisions(ours) == _decisions(theirs), where
        assert ours["inactiveBallots"] == theirs["inactiveBallots"], where
    for key in ("totalNumBallots", "undervotes", "numCandidates", "numWinners", "finalThreshold"):
        assert got["summary"][key] == want["summary"][key], key


REFUSED = [c for c in CASES if c.name in NEEDS_ISSUE_17 and not missing_sources(c)]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_case_needing_an_engine_rule_is_refused_naming_it(case, capsys):
    code, out, err = _tally(capsys, case, "json")
    assert code == 2
    assert out == ""
    assert f"needs RCTab rule {NEEDS_ISSUE_17[case.name]} (issue 17)" in err


def test_a_missing_cvr_file_exits_2_naming_it(capsys):
    case = next(c for c in CASES if c.name == "2018_maine_governor_primary")
    code, out, err = _tally(capsys, case, "json")
    assert code == 2 and out == ""
    assert "2018_maine_governor_primary_cvr.xlsx: no such file or directory" in err


def test_the_result_json_and_table_name_the_candidates(capsys):
    case = next(c for c in CASES if c.name == "2015_portland_mayor")
    code, out, err = _tally(capsys, case, "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == "instant-runoff"
    assert result["winners"] == ["Mavodones, Nicholas M. Jr."]
    assert {c["name"] for c in result["candidates"]} >= {"Carmona, Ralph C.", "Undeclared Write-ins"}
    code, out, err = _tally(capsys, case, "table")
    assert code == 0, err
    assert "Winners: Mavodones, Nicholas M. Jr." in out
    assert "Carmona, Ralph C." in out
