"""BLT files through the pipeline (in-process, on real PostgreSQL): `tally load --blt` -> `tally run` -> the
published scottish-stv result equals the engine's count of the file and the official count sheet's winners ->
`tally verify` re-tallies it from the public files -> `tally export --format blt` writes the counted ballots,
which count again to the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from cli.main import main
from counting import count
from counting.blt import parse_blt
from models import entities as m
from models.db import session_scope

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "scotland-2017"
WARD = CORPUS / "aberdeen_2017_ward9.blt"


def _run(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _fails(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 2, out
    return out.err


def _ids(key: str) -> tuple[int, int]:
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == key))
        return election.id, election.periods[0].id


def _decisions(result: dict) -> list:
    return [(r["round"], r["tallies"], r["elected"], r["eliminated"], r["exhausted"]) for r in result["rounds"]]


def test_a_scottish_ward_loads_counts_verifies_and_exports_as_blt(embedded_db, capsys, tmp_path):
    out = _run(capsys, "load", "--blt", WARD, "--election", "aberdeen-9", "--method", "scottish-stv")
    assert "loaded 1455 ballot(s) into contest 'Lower Deeside Ward' (scottish-stv)" in out
    election_id, period_id = _ids("aberdeen-9")
    _run(capsys, "seal", election_id, period_id)
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", "aberdeen-9", "--out", tmp_path)

    published = json.loads((tmp_path / "results.json").read_text())
    (contest,) = published["tallies"][0]["contests"]
    blt = parse_blt(WARD.read_text(encoding="utf-8"), WARD.name)
    engine = count(blt.contest("scottish-stv"), blt.ballots).to_json()
    assert _decisions(contest["result"]) == _decisions(engine)
    sheet = json.loads(WARD.with_suffix("").with_suffix(".official.json").read_text(encoding="utf-8"))
    winners = [c["id"] for c in contest["result"]["candidates"] if c["is_winner"]]
    assert sorted(winners) == sorted(sheet["elected"])
    assert contest["result"]["totals"]["valid"] == 6811

    _run(capsys, "verify", tmp_path / "ballots.json", tmp_path / "audit.json", tmp_path / "results.json")

    exported = tmp_path / "ward.blt"
    _run(capsys, "export", "aberdeen-9", "--format", "blt", "--contest", "Lower Deeside Ward", "--out", exported)
    again = json.loads(_run(capsys, "count", exported, "--method", "scottish-stv"))
    assert _decisions(again) == _decisions(engine)
    text = exported.read_text(encoding="utf-8")
    assert text.startswith("# election aberdeen-9, period main, contest Lower Deeside Ward (scottish-stv): 6811 valid")
    assert parse_blt(text, "ward.blt").title == "Lower Deeside Ward"


def test_the_blt_export_leaves_out_voided_batches_and_invalid_ballots(embedded_db, capsys, tmp_path):
    first, second = tmp_path / "first.blt", tmp_path / "second.blt"
    names = '"Ann"\n"Ben"\n"Cat"\n"Ranked"\n'
    first.write_text("3 1\n4 1 2 0\n3 2 0\n2 3 1 0\n1 1 1 0\n0\n" + names, encoding="utf-8")
    second.write_text("3 1\n50 3 0\n0\n" + names, encoding="utf-8")
    _run(capsys, "load", "--blt", first, "--election", "small", "--method", "instant-runoff")
    out = _run(capsys, "load", "--blt", second, "--election", "small", "--method", "instant-runoff")
    batch = int(out.split("as batch ")[1].split(";")[0])
    election_id, period_id = _ids("small")
    _run(capsys, "batch", "void", batch, "--reason", "loaded by mistake")
    _run(capsys, "seal", election_id, period_id)
    _run(capsys, "run", election_id, period_id)
    exported = tmp_path / "out.blt"
    _run(capsys, "export", "small", "--format", "blt", "--contest", "Ranked", "--out", exported)
    text = exported.read_text(encoding="utf-8")
    # the repeated candidate makes the last ballot invalid; the voided batch's 50 ballots are not there
    assert text.splitlines()[0] == "# election small, period main, contest Ranked (instant-runoff): 9 valid ballots, 1 invalid-implicit left out"
    assert sorted(map(repr, parse_blt(text, "out.blt").ballots)) == sorted(map(repr, parse_blt(first.read_text(), "f").ballots[:3]))
    result = json.loads(_run(capsys, "count", exported, "--method", "instant-runoff"))
    assert [c["id"] for c in result["candidates"] if c["is_winner"]] == ["1"]


def test_a_blt_load_names_what_is_wrong(embedded_db, capsys, tmp_path):
    bad = tmp_path / "bad.blt"
    bad.write_text("3 1\n1 1 9 0\n0\n", encoding="utf-8")
    assert _fails(capsys, "load", "--blt", bad, "--election", "e", "--method", "scottish-stv") == (
        "error: bad.blt: line 2: preference '9': there is no candidate 9 (the file has 3)\n"
    )
    assert "needs --election KEY and --method M" in _fails(capsys, "load", "--blt", WARD, "--election", "e")
    _run(capsys, "load", "--blt", WARD, "--election", "e", "--method", "scottish-stv")
    err = _fails(capsys, "load", "--blt", WARD, "--election", "e", "--method", "meek-stv", "--allow-duplicate")
    assert "contest 'Lower Deeside Ward': election 'e' has it with other candidates or rules" in err
    with session_scope() as session:
        assert session.scalar(select(m.LoadBatch.records).where(m.LoadBatch.voting_period_id == _ids("e")[1])) == 1455
    assert "needs --contest ID" in _fails(capsys, "export", "e", "--format", "blt", "--out", tmp_path / "x.blt")
