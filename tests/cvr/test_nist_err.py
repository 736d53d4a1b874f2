"""nist-err.json for every kind of contest the pipeline publishes (plurality, instant-runoff,
Meek STV with fractional counts), over an area tree: valid against the NIST SP 1500-100 v2 schema,
one ReportingUnit per area, and counts equal to the published results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models import entities as m
from models.db import session_scope
from services.read import exports
from services.read.results import published
from services.lifecycle.commands import RequestTally
from tests import factories as f

pytestmark = pytest.mark.integration

SCHEMA = Path(__file__).resolve().parents[2].parent / "shared" / "standards" / "nist-err" / \
    "NIST_V2_election_results_reporting.json"


@pytest.mark.skipif(not SCHEMA.exists(), reason=f"the NIST schema is not checked out beside the repo at {SCHEMA}")
def test_nist_err_of_a_published_election_is_valid_and_equals_the_results(embedded_db):
    jsonschema = pytest.importorskip("jsonschema")
    definition = f.election("nist", [
        f.contest("council", "plurality-at-large", candidates=4, seats=2, max_votes=2),
        f.contest("mayor", "instant-runoff", candidates=4, max_votes=3),
        f.contest("board", "meek-stv", candidates=5, seats=2, max_votes=5),
    ])
    ballots = f.random_ballots(definition, 300, seed=5)
    election_id, period_id = f.load(embedded_db, definition, ballots)
    with session_scope() as session:
        RequestTally(election_id, period_id, force=True, by="test").run(session)
    with session_scope() as session:
        assert session.scalar(m.TallyRun.__table__.select().with_only_columns(m.TallyRun.status)) == m.RunStatus.COMPLETED
        text = exports.nist_err_document(session, election_id)
        results = {c["contest"]: c for c in published(session, election_id)["tallies"][0]["contests"]}
        assert exports.nist_err_document(session, election_id) == text  # the same results, the same bytes
    report = json.loads(text)
    jsonschema.validate(report, json.loads(SCHEMA.read_text()))

    units = {u["@id"]: u for u in report["GpUnit"]}
    assert set(units) == {f"ru-{a['id']}" for a in definition["areas"]}
    assert units["ru-root"]["Type"] == "other" and units["ru-a1.1"]["Type"] == "precinct"
    (election,) = report["Election"]
    contests = {c["@id"].removeprefix("contest-"): c for c in election["Contest"]}
    assert {k: c["VoteVariation"] for k, c in contests.items()} == {
        "council": "plurality", "mayor": "rcv", "board": "proportional"}
    names = {c["@id"]: c["BallotName"]["Text"][0]["Content"] for c in election["Candidate"]}
    for key, contest in contests.items():
        result = results[key]["result"]
        for selection in contest["ContestSelection"]:
            (candidate,) = selection["CandidateIds"]
            cid = f"{key}-c{names[candidate].removeprefix('Candidate ')}"
            counts = [vc for vc in selection["VoteCounts"] if vc["GpUnitId"] == "ru-root"]
            if result.get("rounds"):
                want = {r["round"]: float(r["tallies"][cid]) for r in result["rounds"] if cid in r["tallies"]}
                assert {vc["Round"]: vc["Count"] for vc in counts} == pytest.approx(want)
            else:
                (count,) = counts
                total = next(c["total_count"] for c in result["candidates"] if c["id"] == cid)
                assert count["Count"] == total
        assert {vc["GpUnitId"] for s in contest["ContestSelection"] for vc in s["VoteCounts"]} == \
            {"ru-root"} | {f"ru-{a}" for a, r in {**results[key]["areas"], **results[key]["subtrees"]}.items()
                           if r.get("candidates")}  # ranked contests publish participation only per area
        assert {c["GpUnitId"] for c in contest["OtherCounts"]} == {f"ru-{a['id']}" for a in definition["areas"]}
        # an area with children reports its subtree, a leaf its own ballots
        district = next(s for s in contest["ContestSelection"])
        (candidate,) = district["CandidateIds"]
        cid = f"{key}-c{names[candidate].removeprefix('Candidate ')}"
        subtree = results[key]["subtrees"]["a1"]
        if subtree.get("candidates") and not subtree.get("rounds"):
            (count,) = [vc["Count"] for vc in district["VoteCounts"] if vc["GpUnitId"] == "ru-a1"]
            assert count == next(c["total_count"] for c in subtree["candidates"] if c["id"] == cid)
