"""Issue 13, `tally verify`: results.json re-derived, the definition, the load batches and voids
checked against the audit chain, and hostile files refused (exit 2) apart from differences (exit 1)."""

from __future__ import annotations

import copy
import json
import subprocess

import pytest

from cli.demo import definition, sample_ballots
from models import entities as m
from models.db import session_scope
from services.lifecycle import periods
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from services.verify import Malformed, verify
from services.lifecycle.commands import VoidBatch
from tests.support import BIN
from tests.support import rechain_audit

pytestmark = pytest.mark.integration


def _publish(db, client, admin, key: str, void_second: bool) -> dict[str, dict]:
    """The demo election with two loads (the second voided, or not), sealed, tallied, exported."""
    with session_scope(db) as session:
        doc = definition(key, periods.now().replace(microsecond=0))
        report = load_definition(session, doc)
        load_ballots(session, key, "main", sample_ballots(doc["contests"], 60, 1), source="first.json")
        second = load_ballots(session, key, "main", sample_ballots(doc["contests"], 40, 2), source="second.json")
        period_id = session.get(m.Election, report.election_id).periods[0].id
    if void_second:
        with session_scope(db) as session:
            VoidBatch(second.batch_id, "the precinct's count was loaded by mistake").run(session)
    base = f"/api/v1/admin/elections/{report.election_id}/voting-periods/{period_id}"
    assert client.post(base + "/seal", headers=admin).status_code == 200
    assert client.post(base + "/tally/run", json={}, headers=admin).status_code == 202
    files = {}
    for name in ("ballots.json", "audit.json", "results.json"):
        response = client.get(f"/elections/{key}/public/{name}")
        assert response.status_code == 200, response.text
        files[name] = response.json()
    return files


@pytest.fixture(scope="module")
def voided(db, client, admin):
    return _publish(db, client, admin, "verify-voided", void_second=True)


@pytest.fixture(scope="module")
def counted(db, client, admin):
    return _publish(db, client, admin, "verify-counted", void_second=False)


def _verify(files: dict, **edited) -> list[str]:
    docs = {**{k.split(".")[0]: copy.deepcopy(v) for k, v in files.items()}, **edited}
    return verify(docs["ballots"], docs["audit"], docs["results"]).differences


def _kind(audit: dict, kind: str) -> list[int]:
    return [i for i, e in enumerate(audit["events"]) if e["kind"] == kind]


def test_verify_passes_with_results_and_a_voided_batch_listed_but_not_counted(voided):
    report = verify(voided["ballots.json"], voided["audit.json"], voided["results.json"])
    assert report.ok, report.differences
    assert report.ballots == 3 * 100 and report.results_checked == 3
    done = voided["audit.json"]["events"][-1]["payload"]
    assert (done["ballots"], done["ballots_published"]) == (3 * 60, 3 * 100)


def test_a_swapped_winner_in_results_json_is_named(counted):
    results = copy.deepcopy(counted["results.json"])
    council = results["tallies"][0]["contests"][0]
    winners = council["result"]["winners"]
    loser = next(c["id"] for c in council["result"]["candidates"] if c["id"] not in winners)
    council["result"]["winners"] = [loser] + winners[1:]
    area = next(iter(council["areas"]))
    council["areas"][area]["totals"]["valid"] += 1
    found = _verify(counted, results=results)
    assert f"results.json tallies[0] (period 'main') contest 'council': result.winners[0]: recorded \"{loser}\", " \
           f"re-tally \"{winners[0]}\"" in found, found
    assert any(d.startswith(f"results.json tallies[0] (period 'main') contest 'council': areas.{area}.totals.valid")
               for d in found), found


def test_each_area_follows_the_contests_rounds_and_a_changed_one_is_found(counted):
    """Issue 27: an instant-runoff area shows its own rounds under the contest's decisions; the areas
    holding ballots add up to the contest in every round, and verify re-derives each area's."""
    results = copy.deepcopy(counted["results.json"])
    mayor = next(c for c in results["tallies"][0]["contests"] if c["contest"] == "mayor")
    leaves = [k for k in mayor["areas"] if k not in mayor["subtrees"]]
    for n, contest_round in enumerate(mayor["result"]["rounds"]):
        for candidate, votes in contest_round["tallies"].items():
            assert sum(mayor["areas"][k]["followed_rounds"][n]["tallies"][candidate] for k in leaves) == votes
        assert all(mayor["areas"][k]["followed_rounds"][n]["eliminated"] == contest_round["eliminated"] for k in leaves)
    assert mayor["subtrees"]["city"]["followed_rounds"][0]["tallies"] == mayor["result"]["rounds"][0]["tallies"]
    mayor["areas"][leaves[0]]["followed_rounds"][0]["tallies"]["alvarez"] += 1
    found = _verify(counted, results=results)
    assert any(f"areas.{leaves[0]}.followed_rounds[0].tallies.alvarez" in d for d in found), found


def test_a_changed_definition_is_found(counted):
    audit = copy.deepcopy(counted["audit.json"])
    area = next(a for a in audit["definition"]["areas"] if a["id"] == "n1")
    area["weight"] = 1000
    found = _verify(counted, audit=audit)
    assert any("definition_hash" in d and "the definition changed" in d and "(ballots sealed)" in d for d in found)
    assert any("(tally completed)" in d and "the definition changed" in d for d in found)
    assert any(d.startswith("ballots.json areas[") and "(n1): differs from audit.json definition at weight" in d
               for d in found), found


def test_a_voided_batch_counted_anyway_is_found(counted):
    """The log is forged (and re-chained) to say the second batch was voided before sealing, while
    the published results count it."""
    audit = copy.deepcopy(counted["audit.json"])
    second = audit["events"][_kind(audit, "ballots loaded")[1]]
    sealed = _kind(audit, "ballots sealed")[0]
    audit["events"].insert(sealed, {
        "seq": 0, "kind": "batch voided", "run_id": None, "created_at": second["created_at"], "prev_hash": "", "hash": "",
        "payload": {"batch_id": second["payload"]["batch_id"], "voting_period_id": second["payload"]["voting_period_id"],
                    "period": "main", "records": second["payload"]["records"], "reason": "forged", "by": None}})
    rechain_audit(audit)
    found = _verify(counted, audit=audit)
    assert not any("hash mismatch" in d or "prev_hash" in d for d in found)
    assert any("(tally completed, run" in d and "records 300 counted ballot(s), ballots.json has 180" in d
               for d in found), found
    assert any("(tally completed, run" in d and "contest 'council' " in d and "re-tally" in d for d in found), found


def test_a_batch_load_missing_from_the_audit_chain_is_found(counted):
    audit = copy.deepcopy(counted["audit.json"])
    del audit["events"][_kind(audit, "ballots loaded")[1]]
    rechain_audit(audit)
    found = _verify(counted, audit=audit)
    assert "ballots.json period 'main': ballots 180..300 are in no load batch of audit.json " \
           "(a load missing from the audit chain)" in found, found


def test_a_batch_whose_ballots_were_changed_is_found(counted):
    audit = copy.deepcopy(counted["audit.json"])
    first = audit["events"][_kind(audit, "ballots loaded")[0]]["payload"]
    first["weight"] += 1
    first["content_digest"] = "0" * 64
    rechain_audit(audit)
    found = _verify(counted, audit=audit)
    assert any("content_digest does not match" in d for d in found) and any("is not the sum" in d for d in found)


@pytest.mark.parametrize("edit, place", [
    (lambda b, a, r: b["ballots"][3].update(area=["n1"]), "ballots.json.ballots[3].area"),
    (lambda b, a, r: b["ballots"][0].update(marks=[[["deep"], 1]]), "ballots.json.ballots[0].marks[0][0]"),
    (lambda b, a, r: a["events"][1].update(payload=[]), "audit.json.events[1].payload"),
    (lambda b, a, r: a["events"][0]["payload"].update(batch_id="one"), "audit.json.events[0].payload.batch_id"),
    (lambda b, a, r: a["definition"]["areas"][0].update(weight=None), "audit.json.definition.areas[0].weight"),
    (lambda b, a, r: r["tallies"][0]["contests"][0].update(areas=[]), "results.json.tallies[0].contests[0].areas"),
    (lambda b, a, r: b.pop("chain_head"), "ballots.json"),
])
def test_hostile_files_are_refused_naming_the_place(counted, edit, place):
    ballots, audit, results = (copy.deepcopy(counted[n]) for n in ("ballots.json", "audit.json", "results.json"))
    edit(ballots, audit, results)
    with pytest.raises(Malformed) as refused:
        verify(ballots, audit, results)
    assert refused.value.message.startswith(f"{place}: "), refused.value.message
    assert "\n" not in refused.value.message


@pytest.mark.slow
def test_the_command_exits_2_on_a_hostile_file_and_1_only_on_differences(counted, tmp_path):
    paths = {}
    for name, doc in counted.items():
        paths[name] = tmp_path / name
        paths[name].write_text(json.dumps(doc))

    def run(*files):
        return subprocess.run([str(BIN / "tally"), "verify", *map(str, files)], capture_output=True, text=True,
                              timeout=120)

    ok = run(paths["ballots.json"], paths["audit.json"], paths["results.json"])
    assert ok.returncode == 0 and ok.stdout.startswith("verify: OK") and "results.json: 3 contest(s)" in ok.stdout
    hostile = copy.deepcopy(counted["ballots.json"])
    hostile["ballots"][5]["area"] = ["n1", "n2"]
    (tmp_path / "hostile.json").write_text(json.dumps(hostile))
    refused = run(tmp_path / "hostile.json", paths["audit.json"])
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [refused.stderr.strip()]
    assert refused.stderr.startswith("error: ballots.json.ballots[5].area: ")
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    deep = run(paths["ballots.json"], tmp_path / "deep.json")
    assert deep.returncode == 2 and "nested too deeply" in deep.stderr and "Traceback" not in deep.stderr
    results = copy.deepcopy(counted["results.json"])
    council = results["tallies"][0]["contests"][0]["result"]
    council["winners"] = list(reversed(council["winners"]))
    (tmp_path / "swapped.json").write_text(json.dumps(results))
    differs = run(paths["ballots.json"], paths["audit.json"], tmp_path / "swapped.json")
    assert differs.returncode == 1 and "contest 'council': result.winners[0]" in differs.stdout
