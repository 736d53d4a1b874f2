"""CVRs into the pipeline (in-process, on real PostgreSQL): `tally load --rctab-config` ->
`tally run` -> the published result equals RCTab's report -> `tally export` writes a nist-err.json
valid against the NIST SP 1500-100 v2 schema."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cli.main import main
from cvr.rctab_report import report
from models import entities as m
from models.db import session_scope

from .corpus import ABSENT, CORPUS, PRESENT

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not PRESENT, reason=ABSENT)]

SCHEMA = CORPUS.parents[1] / "standards" / "nist-err" / "NIST_V2_election_results_reporting.json"


def _config(case: str):
    return CORPUS / case / f"{case}_config.json"


def _expected(case: str) -> dict:
    return json.loads((CORPUS / case / f"{case}_expected_detailed_report.json").read_text())


def _run(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _ids(key: str) -> tuple[int, int]:
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == key))
        return election.id, election.periods[0].id


def _rounds(rctab: dict) -> list:
    return [
        (r["round"], r["tally"], r["threshold"], r["inactiveBallots"],
         sorted((k, x[k]) for x in r["tallyResults"] for k in ("elected", "eliminated") if k in x))
        for r in rctab["results"]
    ]


def test_portland_2015_end_to_end(embedded_db, capsys, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    out = _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--election", "portland-2015")
    assert "loaded 99 ballot(s)" in out
    election_id, period_id = _ids("portland-2015")
    _run(capsys, "seal", election_id, period_id)  # imported ballots: sealed by hand, which closes the period
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", "portland-2015", "--out", tmp_path)

    published = json.loads((tmp_path / "results.json").read_text())
    (contest,) = published["tallies"][0]["contests"]
    result = contest["result"]
    want = _expected("2015_portland_mayor")
    assert _rounds(report(result)) == _rounds(want)
    assert [c["name"] for c in result["candidates"] if c["is_winner"]] == ["Mavodones, Nicholas M. Jr."]
    assert result["totals"]["total_votes"] == int(want["summary"]["totalNumBallots"])

    nist = json.loads((tmp_path / "nist-err.json").read_text())
    jsonschema.validate(nist, json.loads(SCHEMA.read_text()))
    (election,) = nist["Election"]
    (ranked,) = election["Contest"]
    assert ranked["VoteVariation"] == "rcv"
    scope = election["ElectionScopeId"]
    winner = next(s for s in ranked["ContestSelection"] if s["CandidateIds"] == ["cand-2015_portland_mayor-10"])
    final = {vc["Round"]: vc["Count"] for vc in winner["VoteCounts"] if vc["GpUnitId"] == scope}
    assert final == {r["round"]: int(r["tally"]["Mavodones, Nicholas M. Jr."]) for r in want["results"]}


def test_precincts_become_areas_under_one_root(embedded_db, capsys, tmp_path):
    import openpyxl

    case = "precinct_example"
    _run(capsys, "load", "--rctab-config", _config(case), "--election", "precincts")
    sheet = openpyxl.load_workbook(CORPUS / case / f"{case}_cvr.xlsx", read_only=True).worksheets[0]
    precincts = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0] is not None}
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "precincts"))
        root = next(a for a in election.areas if a.parent_id is None)
        children = {a.key for a in election.areas if a.parent_id == root.id}
        election_id, period_id = election.id, election.periods[0].id
    assert len(precincts) > 1 and children == {str(p) for p in precincts}
    _run(capsys, "seal", election_id, period_id)  # imported ballots: sealed by hand, which closes the period
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", "precincts", "--out", tmp_path)
    (contest,) = json.loads((tmp_path / "results.json").read_text())["tallies"][0]["contests"]
    assert set(contest["areas"]) >= children
    assert _rounds(report(contest["result"])) == _rounds(_expected(case))


def test_a_cvr_without_precinct_data_goes_to_one_area(embedded_db, capsys):
    _run(capsys, "load", "--rctab-config", _config("dominion_no_precinct_data"), "--election", "wy")
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "wy"))
        assert [a.key for a in election.areas] == ["root"]
        assert election.periods[0].ballots_count > 0


def test_load_cvr_into_an_existing_contest_maps_candidates_by_name(embedded_db, capsys):
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--election", "p")
    out = _run(capsys, "load", "--cvr", CORPUS / "2015_portland_mayor" / "2015_portland_mayor_cvr.xlsx",
               "--provider", "ess", "--election", "p", "--contest", "2015_portland_mayor", "--period", "second")
    assert "loaded 99 ballot(s)" in out


def test_an_unreadable_cvr_is_refused_naming_the_file(embedded_db, capsys, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--election", "p")
    code = main(["load", "--cvr", str(bad), "--provider", "ess", "--election", "p", "--contest", "2015_portland_mayor"])
    assert code == 2
    assert f"{bad}: not a readable .xlsx workbook" in capsys.readouterr().err


def test_a_second_configuration_extends_the_election_with_its_contest(embedded_db, capsys, tmp_path):
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--election", "two")
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor_codes"), "--election", "two")
    election_id, period_id = _ids("two")
    _run(capsys, "seal", election_id, period_id)  # imported ballots: sealed by hand, which closes the period
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", "two", "--out", tmp_path)
    contests = {c["contest"]: c["result"] for c in json.loads((tmp_path / "results.json").read_text())["tallies"][0]["contests"]}
    assert set(contests) == {"2015_portland_mayor", "2015_portland_mayor_codes"}
    for key, result in contests.items():
        assert _rounds(report(result)) == _rounds(_expected(key)), key
