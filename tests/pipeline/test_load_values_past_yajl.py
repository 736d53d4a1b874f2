"""Values a JSON library may refuse but the format reads (an integer past 64 bits, 1e400, NaN, a lone
surrogate) in one record of a ballots file: `tally load --ballots` loads the whole file, keeps that record
verbatim and counts it invalid with the reason `tally count` gives the same document, and publishes it
as it was written."""

from __future__ import annotations

import json

from sqlalchemy import select

import models as m
from cli.main import main
from models.db import session_scope
from tests import factories as f

ODD = {
    "an integer past 64 bits": '{"contest": "mayor", "area": "root", "marks": [["mayor-c1", 1]], "weight": 18446744073709551617}',
    "a float past the double range": '{"contest": "mayor", "area": "root", "marks": [["mayor-c1", 1e400]]}',
    "NaN": '{"contest": "mayor", "area": "root", "marks": [["mayor-c2", NaN]]}',
    "a lone surrogate": '{"contest": "mayor", "area": "root", "marks": [["\\ud800", 1]]}',
}


def _run(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_the_pipeline_and_tally_count_classify_values_past_yajl_alike(embedded_db, capsys, tmp_path):
    definition = f.election("odd", [f.contest("mayor", "plurality-at-large", candidates=3)], seal="manual",
                            areas=[{"id": "root", "name": "Root", "census": 100}])
    (tmp_path / "definition.json").write_text(json.dumps(definition))
    plain = [json.dumps({"contest": "mayor", "area": "root", "marks": [[f"mayor-c{i % 3 + 1}", 1]]}) for i in range(7)]
    texts = plain + list(ODD.values())
    (tmp_path / "ballots.json").write_text('{"election": "odd", "period": "main", "ballots": [' + ",\n".join(texts) + "]}")
    _run(capsys, "load", "--definition", tmp_path / "definition.json")
    loaded = _run(capsys, "load", "--ballots", tmp_path / "ballots.json")
    assert "loaded 11 ballot(s)" in loaded and "4 kept verbatim" in loaded, loaded

    (contest,) = definition["contests"]
    document = '{"contest": ' + json.dumps(contest) + ', "ballots": [' + ",".join(map(_ballot_text, texts)) + "]}"
    (tmp_path / "count.json").write_text(document)
    counted = json.loads(_run(capsys, "count", tmp_path / "count.json"))
    assert counted["totals"]["invalid_reasons"] == {"malformed-weight": 1, "malformed-marks": 2, "unknown-candidate": 1}

    with session_scope(embedded_db) as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "odd"))
        election_id, period_id = election.id, election.periods[0].id
    _run(capsys, "seal", election_id, period_id)
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", "odd", "--out", tmp_path / "out")
    published = json.loads((tmp_path / "out" / "results.json").read_text())["tallies"][0]["contests"][0]["result"]
    assert published["totals"] == counted["totals"]
    assert published["winners"] == counted["winners"]
    ballots = (tmp_path / "out" / "ballots.json").read_text()
    assert "18446744073709551617" in ballots and "\\ud800" in ballots  # verbatim, not '?'
    out = tmp_path / "out"
    _run(capsys, "verify", out / "ballots.json", out / "audit.json", out / "results.json")  # re-tallied alike


def _ballot_text(text: str) -> str:
    """The record without its contest and area: a ballot of the `tally count` document, as written."""
    return text.replace('"contest": "mayor", "area": "root", ', "")
