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
    out = _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "portland-2015")
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
    _run(capsys, "load", "--rctab-config", _config(case), "--allow-outside-paths", "--election", "precincts")
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
    _run(capsys, "load", "--rctab-config", _config("dominion_no_precinct_data"), "--allow-outside-paths", "--election", "wy")
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "wy"))
        assert [a.key for a in election.areas] == ["root"]
        assert election.periods[0].ballots_count > 0


def test_load_cvr_into_an_existing_contest_maps_candidates_by_name(embedded_db, capsys, tmp_path):
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "p")
    options = {"firstVoteColumnIndex": 4, "precinctColumnIndex": 2, "overvoteLabel": "overvote",
               "skippedRankLabel": "undervote", "undeclaredWriteInLabel": "UWI"}
    out = _run(capsys, "load", "--cvr", CORPUS / "2015_portland_mayor" / "2015_portland_mayor_cvr.xlsx",
               "--provider", "ess", "--election", "p", "--contest", "2015_portland_mayor", "--period", "second",
               "--cvr-options", json.dumps(options))
    assert "loaded 99 ballot(s)" in out
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "p"))
        election_id, second = election.id, next(p.id for p in election.periods if p.name == "second")
    _run(capsys, "run", election_id, second, "--force")
    _run(capsys, "export", "p", "--out", tmp_path)
    (tally,) = json.loads((tmp_path / "results.json").read_text())["tallies"]
    assert tally["voting_period"] == "second"
    assert _rounds(report(tally["contests"][0]["result"])) == _rounds(_expected("2015_portland_mayor"))


def test_bad_cvr_options_are_refused_naming_the_key(embedded_db, capsys):
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "p")
    code = main(["load", "--cvr", "x.xlsx", "--provider", "ess", "--election", "p", "--contest", "2015_portland_mayor",
                 "--cvr-options", '{"firstVoteColumnIndex": "fourth"}'])
    assert code == 2
    assert "--cvr-options.firstVoteColumnIndex: must be a whole number" in capsys.readouterr().err


def test_an_unreadable_cvr_is_refused_naming_the_file(embedded_db, capsys, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook")
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "p")
    code = main(["load", "--cvr", str(bad), "--provider", "ess", "--election", "p", "--contest", "2015_portland_mayor"])
    assert code == 2
    assert f"{bad}: not a readable .xlsx workbook" in capsys.readouterr().err


@pytest.mark.parametrize(
    "case", ["minneapolis_multi_seat_threshold", "sequential_with_batch", "tiebreak_seed_test",
             "multi_seat_bottoms_up_with_cutoff_eliminate"])
def test_rctab_rules_count_through_the_pipeline_as_tally_count_does(embedded_db, capsys, case):
    """Multi-seat STV, multi-pass IRV, a seeded draw and the percentage threshold: loaded with
    `tally load --rctab-config` (precincts as areas), counted through the per-area fan-out (areas ship
    their multisets, pooled for the count), published equal to `tally count --rctab-config`."""
    counted = json.loads(_run(capsys, "count", "--rctab-config", _config(case), "--allow-outside-paths"))
    key = case.replace("_", "-")
    _run(capsys, "load", "--rctab-config", _config(case), "--allow-outside-paths", "--election", key)
    election_id, period_id = _ids(key)
    _run(capsys, "run", election_id, period_id, "--force")
    published = json.loads(_run(capsys, "results", key, "--format", "json"))
    (contest,) = published["tallies"][0]["contests"]
    result = contest["result"]
    assert result["winners"] == counted["winners"] and result["winners"]
    for part in ("rounds", "passes", "totals", "candidates", "ties"):
        assert result.get(part) == counted.get(part), part


def test_a_second_configuration_extends_the_election_with_its_contest(embedded_db, capsys, tmp_path):
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "two")
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor_codes"), "--allow-outside-paths", "--election", "two")
    election_id, period_id = _ids("two")
    _run(capsys, "seal", election_id, period_id)  # imported ballots: sealed by hand, which closes the period
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", "two", "--out", tmp_path)
    contests = {c["contest"]: c["result"] for c in json.loads((tmp_path / "results.json").read_text())["tallies"][0]["contests"]}
    assert set(contests) == {"2015_portland_mayor", "2015_portland_mayor_codes"}
    for key, result in contests.items():
        assert _rounds(report(result)) == _rounds(_expected(key)), key


# One case per provider, each with its precincts (or none): loaded, tallied by the pipeline, equal to RCTab.
ONE_PER_PROVIDER = [
    "test_set_8_multi_cdf",  # cdf JSON, two files
    "unisyn_xml_cdf_city_mayor",  # cdf XML, seeded random tie-breaks
    "dominion_multi_file",  # dominion, several CvrExport files, precincts
    "hart_cedar_park_school_board",  # hart
    "clear_ballot_with_inline_comma",  # clearBallot
    "generic_csv_test",  # genericCsv, precincts
    "missing_precinct_example",  # ess, some records without a precinct (the root's own ballots)
]


def _exact(rounds: list) -> list:
    """Round figures with numbers compared by value (RCTab writes `8.0000` where we write `8`)."""
    from decimal import Decimal

    def value(text):
        return Decimal(text).normalize()

    return [(n, {k: value(v) for k, v in tally.items()}, value(threshold), {k: value(v) for k, v in inactive.items()}, d)
            for n, tally, threshold, inactive, d in rounds]


def test_each_provider_through_the_pipeline_equals_rctab(embedded_db, capsys, tmp_path):
    for case in ONE_PER_PROVIDER:
        _run(capsys, "load", "--rctab-config", _config(case), "--allow-outside-paths", "--election", case)
        election_id, period_id = _ids(case)
        _run(capsys, "run", election_id, period_id, "--force")
        _run(capsys, "export", case, "--out", tmp_path / case)
        (contest,) = json.loads((tmp_path / case / "results.json").read_text())["tallies"][0]["contests"]
        assert _exact(_rounds(report(contest["result"]))) == _exact(_rounds(_expected(case))), case


def test_a_multi_pass_count_is_audited_and_verified_pass_by_pass(embedded_db, capsys, tmp_path):
    """Each pass's rounds are 'tally round' events naming their pass; `tally verify` re-tallies them
    and finds an edited round of the second pass."""
    from services.verify import verify

    _run(capsys, "load", "--rctab-config", _config("sequential_with_batch"), "--allow-outside-paths", "--election", "sequential")
    election_id, period_id = _ids("sequential")
    _run(capsys, "run", election_id, period_id, "--force")
    _run(capsys, "export", "sequential", "--out", tmp_path)
    ballots = json.loads((tmp_path / "ballots.json").read_text())
    audit = json.loads((tmp_path / "audit.json").read_text())
    rounds = [e for e in audit["events"] if e["kind"] == "tally round"]
    passes = json.loads((tmp_path / "results.json").read_text())["tallies"][0]["contests"][0]["result"]["passes"]
    assert [e["payload"]["pass"] for e in rounds] == [p["pass"] for p in passes for _ in p["rounds"]]
    assert verify(ballots, audit).differences == []
    edited = next(e for e in rounds if e["payload"]["pass"] == 2)
    leader = max(edited["payload"]["tallies"], key=lambda c: edited["payload"]["tallies"][c])
    edited["payload"]["tallies"][leader] += 1
    assert any(f"tallies.{leader}: recorded" in d for d in verify(ballots, audit).differences)


def test_the_same_cvrs_again_are_refused_naming_the_batch_unless_allowed(embedded_db, capsys):
    first = _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "again")
    assert "as batch " in first
    code = main(["load", "--rctab-config", str(_config("2015_portland_mayor")), "--allow-outside-paths", "--election", "again"])
    err = capsys.readouterr().err
    assert code == 2
    assert "already loaded into voting period 'main'" in err and "2015_portland_mayor_config.json" in err
    _run(capsys, "load", "--rctab-config", _config("2015_portland_mayor"), "--allow-outside-paths", "--election", "again", "--allow-duplicate")
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "again"))
        assert election.periods[0].ballots_count == 2 * 99
