"""RCTab's native regression cases through `tally count --rctab-config`: every tabulation case
reproduces RCTab's detailed report round by round as text (tallies, elected, eliminated with their
transfers, inactive ballots by reason, thresholds, ballot totals), and each precinct's report; and
RCTab's detailed report CSV, byte for byte but for the line naming the program. A case where
this project departs from RCTab on purpose (corpus.DEPARTURES) asserts the departure instead."""

from __future__ import annotations

import csv
import io
import json

import pytest

from cli.main import main
from counting.outcome import NO_VALID_VOTES

from .corpus import ABSENT, DEPARTURES, NOT_TABULATION, PRESENT, cases, config_of, missing_sources

pytestmark = pytest.mark.skipif(not PRESENT, reason=ABSENT)

CASES = cases()


def _tally(capsys, case, fmt="rctab", *extra):
    code = main(["count", "--rctab-config", str(config_of(case)), "--allow-outside-paths", "--format", fmt, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_is_reproduced_round_by_round(case, capsys):
    if case.name in NOT_TABULATION:
        pytest.skip(f"not a tabulation case: {NOT_TABULATION[case.name]}")
    missing = missing_sources(case)
    if missing:
        pytest.skip(f"CVR file missing from this copy of the corpus: {', '.join(missing)}")
    if case.name in DEPARTURES:
        return _departs_from_rctab(case, capsys)
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


def _departs_from_rctab(case, capsys) -> None:
    """A departure of DEPARTURES, asserted rather than skipped: RCTab's report still elects someone
    though no candidate ever had a vote (so the case still tests what it departs from), and this
    count elects nobody, with its note, as every method does with no valid votes."""
    (theirs,) = _expected_reports(case)
    assert all(v == "0" for r in theirs["results"] for v in r["tally"].values())
    assert any("elected" in t for r in theirs["results"] for t in r["tallyResults"])
    code, out, err = _tally(capsys, case, "json")
    assert code == 0, err
    ours = json.loads(out)
    assert ours["totals"]["valid"] == 0 and ours["totals"]["total_votes"] == int(theirs["summary"]["totalNumBallots"])
    assert ours["winners"] == [] and ours["ties"] == [] and "rounds" not in ours
    assert ours["notes"] == [NO_VALID_VOTES]
    assert sorted(c["id"] for c in ours["candidates"]) == sorted(theirs["results"][0]["tally"])


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


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case_csv_is_rctab_s_line_for_line(case, capsys):
    """`--format rctab-csv`: RCTab's detailed report CSV (a multi-pass count's passes in turn)."""
    if case.name in NOT_TABULATION:
        pytest.skip(f"not a tabulation case: {NOT_TABULATION[case.name]}")
    missing = missing_sources(case)
    if missing:
        pytest.skip(f"CVR file missing from this copy of the corpus: {', '.join(missing)}")
    if case.name in DEPARTURES:
        return _departs_from_rctab(case, capsys)
    code, out, err = _tally(capsys, case, "rctab-csv")
    assert code == 0, err
    passes = [case / f"{case.name}_expected_detailed_report.csv"]
    if not passes[0].exists():
        passes = sorted(case.glob(f"{case.name}_*_expected_detailed_report.csv"),
                        key=lambda p: int(p.name.removeprefix(case.name + "_").split("_")[0]))
    _same_csv(out, "".join(_bytes_text(p) for p in passes))


def _bytes_text(path) -> str:
    return path.read_bytes().decode("utf-8")  # as stored: no newline translation


GENERATED_BY = "Generated By,"


def _same_csv(got: str, want: str) -> None:
    """Every line the same bytes, line endings included, but the "Generated By" line (ours names
    this program); there must be as many of them, in the same places."""
    ours, theirs = got.splitlines(keepends=True), want.splitlines(keepends=True)
    assert [line.startswith(GENERATED_BY) for line in ours] == [line.startswith(GENERATED_BY) for line in theirs]
    assert all(line == "Generated By,tally worker\n" for line in ours if line.startswith(GENERATED_BY))
    assert [line for line in ours if not line.startswith(GENERATED_BY)] == \
        [line for line in theirs if not line.startswith(GENERATED_BY)]


def test_a_missing_cvr_file_exits_2_naming_it(capsys):
    case = next(c for c in CASES if c.name == "2018_maine_governor_primary")
    code, out, err = _tally(capsys, case, "json")
    assert code == 2 and out == ""
    assert "2018_maine_governor_primary_cvr.xlsx: no such file or directory" in err


def test_a_tie_for_a_person_to_break_stops_the_count_naming_it(capsys):
    """stopCountingAndAsk: RCTab would ask; an offline count stops at the tie, naming it (the pipeline waits for
    the official's decision: tests/pipeline/test_official_ties.py)."""
    case = next(c for c in CASES if c.name == "sample_interactive_tiebreak")
    code, out, err = _tally(capsys, case, "json")
    assert code == 1 and out == ""
    assert "round 2: George Gervin, Yinka Dare are tied and the rules leave the tie to an official" in err
    assert err.rstrip().endswith("(--tie-decision 2:CANDIDATE)")


@pytest.mark.parametrize("loser", ["Yinka Dare", "George Gervin"])
def test_the_official_s_decision_given_to_tally_count_decides_the_tie(capsys, loser):
    case = next(c for c in CASES if c.name == "sample_interactive_tiebreak")
    decisions = [f"2:{loser}"] + (["3:Mookie Blaylock"] if loser == "George Gervin" else [])
    code, out, err = _tally(capsys, case, "json", *(f"--tie-decision={d}" for d in decisions))
    assert code == 0, err
    rounds = json.loads(out)["rounds"]
    assert rounds[1]["eliminated"] == [loser]
    assert [t["rule"] for r in rounds for t in r["tie_breaks"]] == ["official-decision"] * len(decisions)


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


PRECINCT_CSVS = sorted(p for c in CASES for p in c.glob("Tabulate by Precinct/*_precinct_detailed_report.csv"))


@pytest.mark.parametrize("expected", PRECINCT_CSVS, ids=[p.name for p in PRECINCT_CSVS])
def test_each_precinct_csv_is_rctab_s_line_for_line(expected, capsys):
    case = expected.parent.parent
    want = _bytes_text(expected)
    precinct = next(row[1] for row in csv.reader(io.StringIO(want)) if row[:1] == ["Precinct"])
    code = main(["count", "--rctab-config", str(config_of(case)), "--allow-outside-paths", "--format", "rctab-csv",
                 "--precinct", precinct])
    out = capsys.readouterr()
    assert code == 0, out.err
    _same_csv(out.out, want)


def test_rctab_csv_needs_a_configuration(tmp_path, capsys):
    """The CSV's layout follows the configuration's rules; an interchange FILE is refused by name."""
    document = tmp_path / "contest.json"
    document.write_text(json.dumps({"contest": {"id": "m", "method": "instant-runoff", "candidates": [{"id": "a"}, {"id": "b"}]},
                                    "ballots": [{"marks": [["a", 1]]}]}))
    code = main(["count", str(document), "--format", "rctab-csv"])
    assert code == 2 and "rctab-csv reports a count of --rctab-config CONFIG" in capsys.readouterr().err
