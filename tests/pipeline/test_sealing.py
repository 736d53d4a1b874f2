"""Issue 13: sealing, load batches and the definition hash, on PostgreSQL (real workers where
the rule is about what workers read). Each test failed on the code before the issue."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select, text

from cli.main import main as tally
from counting.result import NO_BALLOTS
from models import entities as m
from models.db import session_scope
from services.lifecycle import runs
from services.read.results import published
from tests import factories as f
from tests.support import period_runs, wait_for, write_json

pytestmark = pytest.mark.integration


def _results(url: str, election_id: int) -> dict[str, dict]:
    with session_scope(url) as session:
        tallies = published(session, election_id)["tallies"]
    return {c["contest"]: c["result"] for t in tallies for c in t["contests"]}


def _ballots_file(path, definition: dict, ballots: list[dict]):
    return str(write_json(path, {"election": definition["election"]["id"], "period": "main", "ballots": ballots}))


def _kinds(url: str, election_id: int) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(
            select(m.AuditEvent.kind).where(m.AuditEvent.election_id == election_id).order_by(m.AuditEvent.seq)))


@pytest.mark.slow
def test_an_ended_period_waits_for_its_ballots_and_seal_and_is_never_tallied_from_nothing(stack):
    """Defect 2: a definition whose period has already ended (imported ballots, the normal order)
    is not tallied by beat before its ballots arrive; they load, `tally seal` seals them, and
    beat tallies exactly them."""
    definition = f.election("imported", [f.contest("council", "plurality-at-large", candidates=4, seats=2,
                                                   max_votes=2)])
    del definition["voting_periods"][0]["seal"]  # ended already: manual by default
    ballots = f.random_ballots(definition, 400, seed=9)
    stack.env["TALLY_ADVANCE_INTERVAL"] = "0.3"
    stack.cli("db", "upgrade")
    stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)))
    stack.start_worker("w1")
    stack.start_beat()
    with stack.session() as session:
        election_id, period_id = session.execute(select(m.VotingPeriod.election_id, m.VotingPeriod.id)).one()
    wait_for(lambda: "voting period closed" in _kinds(stack.database_url, election_id), 60, what="closed by beat")
    time.sleep(1)  # several more beats
    assert period_runs(stack.database_url, period_id) == []
    waiting = stack.tally("advance", "--dry-run").stdout
    assert f"waiting: election {election_id} period {period_id}: ballots not sealed yet (seal: manual)" in waiting
    stack.cli("load", "--ballots", _ballots_file(stack.workdir / "b.json", definition, ballots))
    sealed = json.loads(stack.cli("seal", str(election_id), str(period_id)).stdout)
    assert sealed["ballots"] == sealed["counted"] == len(ballots)
    wait_for(lambda: _results(stack.database_url, election_id), 120, what="tallied by beat")
    assert _results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    late = stack.cli("load", "--ballots", _ballots_file(stack.workdir / "late.json", definition, ballots[:5]),
                       check=False)
    assert late.returncode == 2 and "voting period 'main' is tallied" in late.stderr, late.stderr


def test_loads_after_close_and_after_rollback_are_refused_naming_the_state(embedded_db, tmp_path, capsys):
    """Defect 4: closing seals an at-close period; a rollback never reopens its ballots, and a
    re-run counts the same ballots."""
    definition = f.election("frozen", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 200, seed=2)
    election_id, period_id = f.load(embedded_db, definition, ballots)
    more = _ballots_file(tmp_path / "more.json", definition, f.random_ballots(definition, 50, seed=3))
    assert tally(["advance"]) == 0  # closes, seals and (embedded) tallies
    first = _results(embedded_db, election_id)
    assert first == f.direct_count(definition, ballots)
    for state in ("tallied", "rolled back"):
        capsys.readouterr()
        assert tally(["load", "--ballots", more]) == 2
        assert f"voting period 'main' is {state}; it takes no more ballots" in capsys.readouterr().err
        if state == "tallied":
            assert tally(["rollback", str(election_id), str(period_id), "--reason", "recount"]) == 0
    assert tally(["run", str(election_id), str(period_id)]) == 0
    assert _results(embedded_db, election_id) == first
    with session_scope(embedded_db) as session:
        assert session.get(m.VotingPeriod, period_id).ballots_count == len(ballots)


def test_an_empty_period_is_never_tallied_unless_asked_and_then_publishes_no_winners(embedded_db, capsys):
    """Defect 2: no winners chosen by tie-break among zero votes."""
    definition = f.election("empty", [f.contest("mayor", "instant-runoff", candidates=3),
                                      f.contest("council", "plurality-at-large", candidates=4, seats=2)])
    election_id, period_id = f.load(embedded_db, definition, [])
    assert tally(["advance"]) == 0  # closes and seals it, tallies nothing
    assert period_runs(embedded_db, period_id) == []
    capsys.readouterr()
    assert tally(["advance", "--dry-run"]) == 0
    assert "sealed without ballots: never tallied automatically" in capsys.readouterr().out
    assert tally(["run", str(election_id), str(period_id)]) == 2
    assert runs.EMPTY in capsys.readouterr().err
    assert tally(["run", str(election_id), str(period_id), "--allow-empty"]) == 0
    results = _results(embedded_db, election_id)
    assert set(results) == {"mayor", "council"}
    for result in results.values():
        assert result["winners"] == [] and not any(c["is_winner"] for c in result["candidates"])
        assert NO_BALLOTS in result["notes"]
    with session_scope(embedded_db) as session:
        assert session.scalar(select(m.WinnerAssignment.id).limit(1)) is None
    assert "tally round" not in _kinds(embedded_db, election_id)


@pytest.mark.slow
def test_the_same_ballots_twice_are_refused_and_a_voided_batch_is_not_counted(stack):
    """Defect 3, with real workers reading the ballots: the same content again (in any order) is
    refused naming the earlier batch; loaded anyway with --allow-duplicate, the copy can be voided
    before sealing, stays stored and in the chain, and is not counted."""
    definition = f.election("twice", [f.contest("mayor", "instant-runoff", candidates=4)], seal="manual")
    ballots = f.random_ballots(definition, 300, seed=4)
    stack.cli("db", "upgrade")
    stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)))
    first = _ballots_file(stack.workdir / "b.json", definition, ballots)
    assert "as batch 1" in stack.cli("load", "--ballots", first).stdout
    shuffled = _ballots_file(stack.workdir / "again.json", definition, list(reversed(ballots)))
    again = stack.cli("load", "--ballots", shuffled, check=False)
    assert again.returncode == 2 and "as batch 1 (b.json)" in again.stderr, again.stderr
    assert "as batch" in stack.cli("load", "--ballots", shuffled, "--allow-duplicate").stdout
    with stack.session() as session:
        election_id, period_id = session.execute(select(m.VotingPeriod.election_id, m.VotingPeriod.id)).one()
    listed = json.loads(stack.cli("batch", "list", str(election_id), str(period_id)).stdout)
    copy = listed[1]["batchId"]  # the refused load used up an id
    assert [(b["records"], b["duplicateOf"]) for b in listed] == [(300, None), (300, 1)]
    assert listed[0]["contentDigest"] == listed[1]["contentDigest"]
    assert (listed[0]["countAfter"], listed[1]["countBefore"]) == (300, 300)
    assert listed[0]["chainAfter"] == listed[1]["chainBefore"]
    voided = json.loads(stack.cli("batch", "void", str(copy), "--reason", "loaded twice").stdout)
    assert voided["voidReason"] == "loaded twice" and voided["voidedAt"]
    stack.cli("seal", str(election_id), str(period_id))
    refused = stack.cli("batch", "void", "1", "--reason", "too late", check=False)
    assert refused.returncode == 2 and "is sealed" in refused.stderr
    stack.start_worker("w1")
    stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "120")
    assert _results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    with stack.session() as session:
        run = session.scalar(select(m.TallyRun))
        assert run.ballots_processed == 300 and session.get(m.VotingPeriod, period_id).ballots_count == 600
    kinds = _kinds(stack.database_url, election_id)
    assert kinds.count("ballots loaded") == 2 and kinds.count("batch voided") == 1


def _swap(first: int) -> list[str]:
    """Statements putting candidates mayor-c1 and mayor-c2 at positions `first` and 1 - first."""
    return [
        "UPDATE candidates SET position = position + 100 WHERE key IN ('mayor-c1', 'mayor-c2')",
        f"UPDATE candidates SET position = CASE key WHEN 'mayor-c1' THEN {first} ELSE {1 - first} END "
        "WHERE key IN ('mayor-c1', 'mayor-c2')",
    ]


@pytest.mark.parametrize("change, undo", [
    (["UPDATE areas SET weight = 1000 WHERE key = 'a1'"], ["UPDATE areas SET weight = 1 WHERE key = 'a1'"]),
    (_swap(1), _swap(0)),
], ids=["area weight", "candidate order"])
def test_a_definition_changed_after_its_ballots_is_refused_and_never_published(embedded_db, tmp_path, capsys, change,
                                                                               undo):
    """Defect 5: area weights and candidate order are part of what is sealed."""
    definition = f.election("changed", [f.contest("mayor", "plurality-at-large", candidates=3)], seal="manual")
    ballots = f.random_ballots(definition, 150, seed=8)
    election_id, period_id = f.load(embedded_db, definition, ballots)
    with session_scope(embedded_db) as session:
        original = session.get(m.Election, election_id).definition_hash
    _execute(embedded_db, change)
    capsys.readouterr()
    more = _ballots_file(tmp_path / "more.json", definition, ballots[:3])
    assert tally(["load", "--ballots", more]) == 2  # further loads are refused...
    assert "definition changed since its first ballots were loaded" in capsys.readouterr().err
    assert tally(["seal", str(election_id), str(period_id)]) == 2  # ...and so is the seal
    _execute(embedded_db, undo)  # put back: the seal records the original definition
    assert tally(["seal", str(election_id), str(period_id)]) == 0
    with session_scope(embedded_db) as session:
        assert session.get(m.VotingPeriod, period_id).sealed_definition_hash == original
    _execute(embedded_db, change)  # changed again after sealing, before the tally
    assert tally(["run", str(election_id), str(period_id)]) == 0
    (run_id, status, error), = period_runs(embedded_db, period_id)
    assert status == "FAILED" and "definition changed since the period was sealed" in error
    assert _results(embedded_db, election_id) == {}


def _execute(url: str, statements: list[str]) -> None:
    with session_scope(url) as session:
        for statement in statements:
            session.execute(text(statement))


def test_a_definition_loaded_again_is_accepted_unchanged_and_refused_changed(embedded_db, tmp_path, capsys):
    """Re-loading a changed definition after ballots exist is refused naming both hashes."""
    definition = f.election("reloaded", [f.contest("mayor", "plurality-at-large", candidates=3)], seal="manual")
    election_id, _ = f.load(embedded_db, definition, f.random_ballots(definition, 30, seed=1))
    with session_scope(embedded_db) as session:
        recorded = session.get(m.Election, election_id).definition_hash
    same = write_json(tmp_path / "same.json", definition)
    capsys.readouterr()
    assert tally(["load", "--definition", str(same)]) == 0
    assert "has this definition already (the same definition hash): nothing changed" in capsys.readouterr().out
    changed = json.loads(json.dumps(definition))
    changed["areas"][1]["weight"] = 7
    assert tally(["load", "--definition", str(write_json(tmp_path / "changed.json", changed))]) == 2
    err = capsys.readouterr().err
    assert f"has ballots loaded under definition hash {recorded}; this definition differs" in err, err
    with session_scope(embedded_db) as session:
        assert session.scalar(select(m.Area.weight).where(m.Area.key == changed["areas"][1]["id"])) == 1
        assert session.scalar(select(m.Election.id).where(m.Election.key.like("definition-check-%"))) is None
