"""RCTab's native regression cases through `tally count --rctab-config`: every tabulation case
reproduces RCTab's detailed report round by round as text (tallies, elected, eliminated with their
transfers, inactive ballots by reason, thresholds, ballot totals), and each precinct's report."""

from __future__ import annotations

import json

import pytest

from cli.main import main

from .corpus import ABSENT, NOT_TABULATION, PRESENT, cases, config_of, missing_sources

pytestmark = pytest.mark.skipif(not PRESENT, reason=ABSENT)

CASES = cases()


def _tally(capsys, case, fmt="rctab"):
    code = main(["count", "--rctab-config", str(config_of(case)), "--allow-outside-paths", "--format", fmt])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_reproduced_round_by_round(case, capsys):
    if case.name in NOT_TABULATION:
        pytest.skip(f"not a tabulation case: {NOT_TABULATION[case.name]}")
    missing = missing_sources(case)
    if missing:
        pytest.skip(f"CVR file missing from this copy of the corpus: {', '.join(missing)}")
    code, out, err = _tally(capsys, case)
    assert code == 0, err
    got = json.loads(out)
    wanted = _expected_reports(case)
    if isinstance(got, list):  # multi-pass IRV: one report per pass, as RCTab writes them
        assert len(got) == len(wanted)
    else:
        got = [got]
        assert len(wanted) == 1
    for number, (ours, theirs) in enumerate(zip(got, wanted, strict=False), start=1):
        _same_report(ours, theirs, f"pass {number}: " if len(wanted) > 1 else "")


def _expected_reports(case) -> list[dict]:
    """RCTab's report, or its reports per pass (NAME_1_expected..., NAME_2_expected...) in order."""
    single = case / f"{case.name}_expected_detailed_report.json"
    if single.exists():
        return [json.loads(single.read_text())]
    passes = sorted(case.glob(f"{case.name}_*_expected_detailed_report.json"),
                    key=lambda p: int(p.name.removeprefix(case.name + "_").split("_")[0]))
    return [json.loads(p.read_text()) for p in passes]


def _same_report(got: dict, want: dict, where: str) -> None:
    """Every round as RCTab writes it (tallies, decisions with their transfers, inactive ballots,
    threshold: the same text, "6.0000" where RCTab writes it so), and the summary."""
    assert len(got["results"]) == len(want["results"]), where
    for ours, theirs in zip(got["results"], want["results"], strict=True):
        assert ours == theirs, f"{where}round {theirs['round']}"
    assert got["summary"] == want["summary"], where


def test_a_missing_cvr_file_exits_2_naming_it(capsys):
    case = next(c for c in CASES if c.name == "2018_maine_governor_primary")
    code, out, err = _tally(capsys, case, "json")
    assert code == 2 and out == ""
    assert "2018_maine_governor_primary_cvr.xlsx: no such file or directory" in err


def test_a_tie_for_a_person_to_break_stops_the_count_naming_it(capsys):
    """stopCountingAndAsk: RCTab would ask; a count here is not interactive, so the tie stops it."""
    case = next(c for c in CASES if c.name == "sample_interactive_tiebreak")
    code, out, err = _tally(capsys, case, "json")
    assert code == 1 and out == ""
    assert "round 2: George Gervin, Yinka Dare are tied and tie_break_mode asks a person to decide" in err


def test_the_result_json_and_table_name_the_candidates(capsys):
    case = next(c for c in CASES if c.name == "2015_portland_mayor")
    code, out, err = _tally(capsys, case, "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["method"] == "rcv"
    assert result["winners"] == ["Mavodones, Nicholas M. Jr."]
    assert {c["name"] for c in result["candidates"]} >= {"Carmona, Ralph C.", "Undeclared Write-ins"}
    code, out, err = _tally(capsys, case, "table")
    assert code == 0, err
    assert "Winners: Mavodones, Nicholas M. Jr." in out
    assert "Carmona, Ralph C." in out


PRECINCT_REPORTS = sorted(p for c in CASES for p in c.glob("Tabulate by Precinct/*_precinct_detailed_report.json"))


@pytest.mark.parametrize("expected", PRECINCT_REPORTS, ids=[p.name for p in PRECINCT_REPORTS])
def test_each_precinct_is_reproduced_round_by_round(expected, capsys):
    """tabulateByPrecinct: a precinct's rounds follow the contest's decisions with its own ballots;
    RCTab's report of it equals ours, but for the field that names the program."""
    case = expected.parent.parent
    want = json.loads(expected.read_text())
    precinct = want["config"]["precinct"]
    code = main(["count", "--rctab-config", str(config_of(case)), "--allow-outside-paths", "--format", "rctab",
                 "--precinct", precinct])
    out = capsys.readouterr()
    assert code == 0, out.err
    got = json.loads(out.out)
    assert {**got["config"], "generatedBy": ""} == {**want["config"], "generatedBy": ""}
    assert got["results"] == want["results"] and got["summary"] == want["summary"]


def test_a_precinct_the_export_lacks_is_named(capsys):
    case = next(c for c in CASES if c.name == "precinct_example")
    code = main(["count", "--rctab-config", str(config_of(case)), "--allow-outside-paths", "--format", "rctab",
                 "--precinct", "NOWHERE"])
    assert code == 2 and "no per-precinct rounds for 'NOWHERE'" in capsys.readouterr().err
