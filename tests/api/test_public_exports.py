"""The public exports and `tally verify`: available once a tally completed, canonical and
reproducible, re-tallied by verify; any edit, removal or reordering is reported with its place."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import httpx
import pytest

from cli.demo import definition, sample_ballots
from models import entities as m
from models.db import session_scope
from services.lifecycle import periods
from services.read import exports
from services.public_format import canonical_json, event_hash, link, sha256
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from services.verify import verify
from services.lifecycle.commands import RequestTally
from tests.support import BIN

from api.public import PUBLIC_NOT_FOUND

from .conftest import Election, assert_error, make_election

pytestmark = pytest.mark.integration

ODD_BALLOTS = [
    {"contest": "council", "area": "n1", "marks": [["zed", 1]]},  # unknown candidate: kept verbatim
    {"contest": "mayor", "area": "s1", "marks": "not a list"},  # malformed-marks
    {"contest": "council", "area": "s2", "marks": [["ada", 1]], "weight": 5},
    {"contest": "board", "area": "n2", "marks": [["kim", 1]], "weight": 0},  # malformed-weight
    {"contest": "mayor", "area": "n1", "marks": [["chen", 1], ["baker", 1]]},  # overvote
]


@pytest.fixture(scope="module")
def published(db, client, admin):
    """A tallied election with odd ballots and an area of weight 2, and its three exports."""
    key = "exports-1"
    with session_scope(db) as session:
        doc = definition(key, periods.now().replace(microsecond=0))
        for area in doc["areas"]:
            if area["id"] == "n1":
                area["weight"] = 2
        report = load_definition(session, doc)
        load_ballots(session, key, "main", sample_ballots(doc["contests"], 150, 11) + ODD_BALLOTS)
        period_id = session.get(m.Election, report.election_id).periods[0].id
    election = Election(report.election_id, key, period_id)
    for name in ("ballots.json", "audit.json", "results.json"):  # nothing published before the tally
        assert_error(client.get(f"/elections/{election.id}/public/{name}"), 404, PUBLIC_NOT_FOUND)
    sealed = client.post(election.base().removesuffix("/tally") + "/seal", headers=admin)  # imported: sealed by hand
    assert sealed.status_code == 200, sealed.text
    response = client.post(election.base() + "/run", json={"force": True}, headers=admin)
    assert response.status_code == 202, response.text
    files = {name: client.get(f"/elections/{key}/public/{name}") for name in ("ballots.json", "audit.json", "results.json")}
    assert all(r.status_code == 200 for r in files.values())
    return election, {name: r.content for name, r in files.items()}


def test_exports_are_canonical_and_reproducible(client, published, db):
    election, files = published
    for name, content in files.items():
        assert content == canonical_json(json.loads(content)).encode(), name
        again = client.get(f"/elections/{election.id}/public/{name}").content
        assert again == content, name
    with session_scope(db) as session:
        assert exports.ballots_document(session, election.id).encode() == files["ballots.json"]


def test_ballots_export_content(published):
    election, files = published
    doc = json.loads(files["ballots.json"])
    ballots = doc["ballots"]
    assert len(ballots) == 3 * 150 + len(ODD_BALLOTS)
    assert doc["periods"][0]["ballots"] == len(ballots) and doc["periods"][0]["name"] == "main"
    assert {a["id"]: a["weight"] for a in doc["areas"]}["n1"] == 2
    assert [c["id"] for c in doc["contests"]] == ["council", "mayor", "board"]
    assert doc["contests"][1]["method"] == "instant-runoff" and "n1" in doc["contests"][1]["areas"]
    chain = "0" * 64
    for entry in ballots:
        content = {k: v for k, v in entry.items() if k not in ("hash", "chain")}
        assert entry["hash"] == sha256(canonical_json(content))
        chain = link(chain, entry["hash"])
        assert entry["chain"] == chain
    assert doc["chain_head"] == chain
    by_reason = {(b["classification"], b["reason"], b["defect"]) for b in ballots}
    assert ("invalid-implicit", "unknown-candidate", None) in by_reason
    assert ("invalid-implicit", "malformed-marks", "malformed-marks") in by_reason
    assert ("invalid-implicit", "malformed-weight", "malformed-weight") in by_reason
    assert ("invalid-implicit", "overvote", None) in by_reason
    assert ("invalid-explicit", None, None) in by_reason and ("blank", None, None) in by_reason
    unknown = next(b for b in ballots if b["reason"] == "unknown-candidate")
    assert unknown["marks"] == [["zed", 1]] and json.loads(unknown["raw"])["marks"] == [["zed", 1]]
    assert any(b["weight"] == 5 for b in ballots)


def test_audit_and_results_exports(published, db):
    election, files = published
    audit = json.loads(files["audit.json"])
    assert [c["method"] for c in audit["contests"]] == ["plurality-at-large", "instant-runoff", "meek-stv"]
    assert audit["contests"][2]["exclusion_groups"][0]["max_elected"] == 1
    events = audit["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    kinds = [e["kind"] for e in events]
    assert kinds[:3] == ["ballots loaded", "voting period closed", "ballots sealed"]
    assert events[0]["payload"]["definition_hash"] == events[2]["payload"]["definition_hash"] == \
        events[-1]["payload"]["definition_hash"] == sha256(canonical_json(audit["definition"]))
    assert "tally round" in kinds and kinds[-1] == "tally completed"
    completed = events[-1]["payload"]
    ballots = json.loads(files["ballots.json"])
    assert completed["ballots_chain_head"] == ballots["chain_head"]
    assert set(completed["results"]) == {"council", "mayor", "board"}
    assert audit["head"] == events[-1]["hash"]
    with session_scope(db) as session:
        assert session.get(m.TallyRun, completed and events[-1]["run_id"]).ballots_chain_head == ballots["chain_head"]

    results = json.loads(files["results.json"])
    tally = results["tallies"][0]
    assert tally["voting_period"] == "main"
    council = tally["contests"][0]
    assert council["contest"] == "council" and council["result"]["winners"] == completed["results"]["council"]["winners"]
    assert set(council["areas"]) >= {"n1", "s3"} and "north" in council["subtrees"]


def test_public_lookup_errors(client):
    assert_error(client.get("/elections/999999/public/ballots.json"), 404)
    assert_error(client.get("/elections/no-such-election/public/audit.json"), 404)
    assert_error(client.get("/elections/99999999999999999999/public/results.json"), 404)


def test_a_missing_and_an_unpublished_election_look_the_same(client, db):
    """Issue 29: the public 404 said "no election 'X'" for one and "No completed tally" for the other,
    so whoever walks the (sequential) ids learns which elections exist before they publish."""
    unpublished = make_election(db, "not-yet", ballots=10)
    for name in ("ballots.json", "audit.json", "results.json"):
        answers = [client.get(f"/elections/{ref}/public/{name}")
                   for ref in (unpublished.id, unpublished.key, 999_999, "no-such-election")]
        bodies = [assert_error(r, 404, PUBLIC_NOT_FOUND) for r in answers]
        assert len({(b["status"], b["error"], b["message"]) for b in bodies}) == 1, bodies
        assert len({(r.headers["content-type"], r.headers["content-length"]) for r in answers}) == 1


def test_verify_passes_on_the_real_export(published):
    _, files = published
    report = verify(json.loads(files["ballots.json"]), json.loads(files["audit.json"]))
    assert report.ok, report.differences
    assert report.ballots == 3 * 150 + len(ODD_BALLOTS) and report.contests_retallied == 3 and report.rounds > 0


# ---- tampering: each is found, at its place ----


def _docs(files):
    return json.loads(files["ballots.json"]), json.loads(files["audit.json"])


def _rehash_ballots(doc, start=0):
    """What a careful forger does: recompute every hash and chain from `start` on."""
    chain = doc["ballots"][start - 1]["chain"] if start else "0" * 64
    for entry in doc["ballots"][start:]:
        entry["hash"] = sha256(canonical_json({k: v for k, v in entry.items() if k not in ("hash", "chain")}))
        chain = entry["chain"] = link(chain, entry["hash"])
    doc["chain_head"] = chain


def _rehash_events(doc, start=0):
    prev = doc["events"][start - 1]["hash"] if start else "0" * 64
    for event in doc["events"][start:]:
        event["prev_hash"] = prev
        prev = event["hash"] = event_hash(prev, event["seq"], event["kind"], event["run_id"], event["created_at"],
                                          event["payload"])
    doc["head"] = prev


def _round_events(audit, contest="mayor"):
    return [i for i, e in enumerate(audit["events"]) if e["kind"] == "tally round" and e["payload"]["contest"] == contest]


def _valid_index(ballots, contest="council"):
    return next(i for i, b in enumerate(ballots["ballots"]) if b["contest"] == contest and b["classification"] == "valid"
                and b["weight"] == 1 and len(b["marks"]) == 1)


def _differences(ballots, audit):
    report = verify(ballots, audit)
    assert not report.ok
    return report.differences


def test_edited_ballot(published):
    ballots, audit = _docs(published[1])
    i = _valid_index(ballots)
    ballots["ballots"][i]["marks"] = [["ben" if ballots["ballots"][i]["marks"][0][0] != "ben" else "ada", 1]]
    found = _differences(ballots, audit)
    assert f"ballots[{i}]: hash mismatch: the ballot's content is not what was hashed (edited)" in found


def test_edited_ballot_with_recomputed_chain(published):
    ballots, audit = _docs(published[1])
    i = _valid_index(ballots)
    ballots["ballots"][i]["weight"] = 900  # enough to change the council's outcome
    _rehash_ballots(ballots, i)
    found = _differences(ballots, audit)
    assert not any(d.startswith("ballots[") for d in found)
    assert any("tally completed" in d and "ballots_chain_head does not match" in d for d in found), found
    assert any("contest 'council' " in d and "recorded" in d for d in found), found


def test_removed_ballot(published):
    ballots, audit = _docs(published[1])
    del ballots["ballots"][17]
    found = _differences(ballots, audit)
    assert "ballots[17]: chain does not link to the previous ballot (a ballot was removed, added or moved)" in found
    assert not any(d.startswith("ballots[18]") for d in found)
    assert any("ballots_chain_head does not match" in d for d in found)


def test_reordered_ballots(published):
    ballots, audit = _docs(published[1])
    entries = ballots["ballots"]
    j = next(j for j in range(30, len(entries) - 1) if entries[j]["hash"] != entries[j + 1]["hash"])
    entries[j], entries[j + 1] = entries[j + 1], entries[j]
    found = _differences(ballots, audit)
    assert any(d.startswith(f"ballots[{j}]: chain does not link") for d in found)
    assert any(d.startswith(f"ballots[{j + 1}]: chain does not link") for d in found)


def test_edited_tally_round(published):
    ballots, audit = _docs(published[1])
    k = _round_events(audit)[0]
    event = audit["events"][k]
    leader = max(event["payload"]["tallies"], key=lambda c: event["payload"]["tallies"][c])
    event["payload"]["tallies"][leader] += 7
    found = _differences(ballots, audit)
    seq = event["seq"]
    assert f"audit event seq {seq}: hash mismatch: the event's content is not what was hashed (edited)" in found
    assert any(d.startswith(f"audit event seq {seq} (tally round 1 of 'mayor'): tallies.{leader}: recorded")
               for d in found), found


def test_edited_tally_round_with_recomputed_chain(published):
    ballots, audit = _docs(published[1])
    k = _round_events(audit)[-1]
    audit["events"][k]["payload"]["eliminated"] = ["alvarez"]
    _rehash_events(audit, k)
    found = _differences(ballots, audit)
    seq = audit["events"][k]["seq"]
    assert not any("hash mismatch" in d or "prev_hash" in d for d in found)
    assert any(d.startswith(f"audit event seq {seq} (tally round") and "eliminated" in d for d in found), found


def test_removed_tally_round(published):
    ballots, audit = _docs(published[1])
    k = _round_events(audit)[0]
    removed_seq = audit["events"][k]["seq"]
    del audit["events"][k]
    found = _differences(ballots, audit)
    nxt = removed_seq + 1
    assert f"audit event seq {nxt}: prev_hash does not match the hash of the event before it" in found
    assert any(d.startswith(f"audit event seq {nxt}: out of place") for d in found)
    assert any("'mayor'" in d for d in found)


def test_reordered_audit_events(published):
    ballots, audit = _docs(published[1])
    a, b = _round_events(audit)[:2]
    events = audit["events"]
    events[a], events[b] = events[b], events[a]
    found = _differences(ballots, audit)
    for event in (events[a], events[b]):
        assert any(d.startswith(f"audit event seq {event['seq']}: out of place") for d in found)
        assert f"audit event seq {event['seq']}: prev_hash does not match the hash of the event before it" in found


def test_edited_audit_event(published):
    ballots, audit = _docs(published[1])
    audit["events"][0]["payload"]["reason"] = "nothing to see"
    found = _differences(ballots, audit)
    assert found == ["audit event seq 1: hash mismatch: the event's content is not what was hashed (edited)"]


def test_edited_results_in_the_audit_log_even_rehashed(published):
    ballots, audit = _docs(published[1])
    done = audit["events"][-1]
    winners = done["payload"]["results"]["council"]["winners"]
    loser = next(c["id"] for c in audit["contests"][0]["candidates"] if c["id"] not in winners)
    done["payload"]["results"]["council"]["winners"] = [loser] + winners[1:]
    _rehash_events(audit, len(audit["events"]) - 1)
    found = _differences(ballots, audit)
    seq = done["seq"]
    assert f"audit event seq {seq} (tally completed, run {done['run_id']}): contest 'council' winners[0]: " \
           f"recorded \"{loser}\", re-tally \"{winners[0]}\"" in found


def test_changed_method_and_area_weight(published):
    ballots, audit = _docs(published[1])
    audit["contests"][0]["seats"] = 2
    found = _differences(ballots, audit)
    assert any(d.startswith("ballots.json contests[0] (council): definition differs from audit.json at seats") for d in found)
    ballots, audit = _docs(published[1])
    i, area = next((i, a) for i, a in enumerate(ballots["areas"]) if a["id"] == "n1")
    area["weight"] = 1
    found = _differences(ballots, audit)
    assert f"ballots.json areas[{i}] (n1): differs from audit.json definition at weight: recorded 2, re-tally 1" in found


def test_verify_command(published, tmp_path):
    _, files = published
    good = tmp_path / "good"
    good.mkdir()
    for name, content in files.items():
        (good / name).write_bytes(content)
    ok = subprocess.run([str(BIN / "tally"), "verify", str(good / "ballots.json"), str(good / "audit.json")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith("verify: OK")

    ballots, audit = _docs(files)
    ballots["ballots"][5]["explicit_invalid"] = not ballots["ballots"][5]["explicit_invalid"]
    bad = tmp_path / "ballots.json"
    bad.write_text(json.dumps(ballots))
    out = subprocess.run([str(BIN / "tally"), "verify", str(bad), str(good / "audit.json")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert "ballots[5]: hash mismatch" in out.stdout
    missing = subprocess.run([str(BIN / "tally"), "verify", str(tmp_path / "nope.json"), str(good / "audit.json")],
                             capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_export_command_writes_the_served_bytes(published, db, tmp_path):
    election, files = published
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}, "DATABASE_URL": db}
    out = subprocess.run([str(BIN / "tally"), "export", election.key, "--out", str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name, content in files.items():
        assert (tmp_path / name).read_bytes() == content, name
    other = make_election(db, "exports-untallied", ballots=0)
    refused = subprocess.run([str(BIN / "tally"), "export", other.key, "--out", str(tmp_path / "x")], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "No completed tally" in refused.stderr
    assert not (tmp_path / "x" / "ballots.json").exists()


def test_exports_are_rendered_once_and_served_with_their_etag(client, published):
    """A repeat request costs no render: the file made by the first request is served as it is, its
    ETag is the sha256 of its bytes, and a client holding it gets 304."""
    election, files = published
    store = client.app.state.exports.store
    renders = store.renders
    for name, content in files.items():
        response = client.get(f"/elections/{election.id}/public/{name}")
        assert response.content == content
        assert response.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
        cached = client.get(f"/elections/{election.id}/public/{name}", headers={"If-None-Match": response.headers["etag"]})
        assert cached.status_code == 304 and cached.content == b""
    assert store.renders == renders


def test_concurrent_first_requests_render_a_version_once(db, admin):
    """Twenty clients ask at once for files nobody has asked for yet: each file is rendered once,
    and all get the same bytes."""
    import asyncio

    from api.app import create_app

    election = make_election(db, "exports-burst", ballots=300)
    with session_scope(db) as session:
        RequestTally(election.id, election.period_id, force=True, by="test").run(session)
    app = create_app()
    store = app.state.exports.store
    assert app.state.exports.slots.value == 2  # TALLY_EXPORT_CONCURRENCY: renders at once

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.get(f"/elections/{election.id}/public/{name}")
                                          for name in ("ballots.json", "audit.json", "results.json") * 7))

    answers = asyncio.run(burst())
    assert all(r.status_code == 200 for r in answers)
    assert store.renders == 3
    by_name = {}
    for response in answers:
        by_name.setdefault(response.headers["etag"], set()).add(response.content)
    assert len(by_name) == 3 and all(len(contents) == 1 for contents in by_name.values())
