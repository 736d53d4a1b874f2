"""Issue 29, item 1: a seal, a completed run and a published result hold at the database against the
application's own role (migration 0010), and `tally verify` catches a seal undone behind its back.

The attack: load two batches (80 + 15 ballots), seal, clear the seal as the app role, void the
second batch, seal again (80 counted), tally and publish. The app role is now refused at the
first step; done as a superuser with the triggers off, verify names the second seal and the
void that came after the first."""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from cli.main import main as tally
from models import entities as m
from models.db import session_scope
from tests import factories as f
from tests.support import PG_ADMIN, refused

pytestmark = pytest.mark.integration


def _two_batches(app_url: str, key: str) -> tuple[int, int]:
    """An election with one manual period holding two load batches of 80 and 15 ballots."""
    definition = f.election(key, [f.contest("mayor", "plurality-at-large", candidates=3)], seal="manual")
    ballots = f.random_ballots(definition, 95, seed=5, hostile=False)
    election_id, period_id = f.load(app_url, definition, ballots[:80])
    f.load_more(app_url, definition, "main", ballots[80:])
    return election_id, period_id


def _period(url: str, period_id: int) -> tuple:
    with session_scope(url) as session:
        p = session.get(m.VotingPeriod, period_id)
        return p.sealed_at, p.ballots_count, p.ballots_chain_head, p.sealed_definition_hash, p.status


def test_the_app_role_cannot_undo_a_seal_void_a_batch_or_add_ballots_after_it(roles, monkeypatch, capsys):
    _owner_url, app_url, _ = roles
    monkeypatch.setenv("DATABASE_URL", app_url)
    election_id, period_id = _two_batches(app_url, "sealed")
    assert tally(["seal", str(election_id), str(period_id)]) == 0
    sealed = _period(app_url, period_id)
    assert sealed[1] == 95 and sealed[0] is not None

    where = f"WHERE id = {period_id}"
    for change in ("sealed_at = NULL", "ballots_count = 80", "ballots_chain_head = NULL",
                   "sealed_definition_hash = 'forged'", "status = 'OPEN'", "seal_mode = 'at-close'",
                   "name = 'other'"):
        refused(app_url, f"UPDATE voting_periods SET {change} {where}", f"voting period {period_id} is sealed")
    refused(app_url, f"DELETE FROM voting_periods {where}", "DELETE refused")
    refused(app_url, "UPDATE load_batches SET voided_at = now(), void_reason = 'late' WHERE id = 2",
             f"voting period {period_id} is sealed: load batches cannot be added, changed or voided")
    refused(app_url, "INSERT INTO load_batches (election_id, voting_period_id, created_at, records, weight, "
                      f"count_before, count_after) VALUES ({election_id}, {period_id}, now(), 1, 1, 95, 96)",
             "load batches cannot be added")
    refused(app_url, "DELETE FROM load_batches WHERE id = 1", "load batch 1 is kept: DELETE refused")
    columns = "voting_period_id, batch_id, contest_id, area_id, marks, weight, explicit_invalid, defect, raw"
    refused(app_url, f"INSERT INTO ballots ({columns}) SELECT {columns} FROM ballots LIMIT 3",
             f"ballots: voting period {period_id} is sealed: INSERT refused")
    refused(app_url, "INSERT INTO area_ballot_counts (voting_period_id, batch_id, contest_id, area_id, records) "
                      "SELECT voting_period_id, batch_id, contest_id, area_id, 1 FROM area_ballot_counts LIMIT 1",
             f"area_ballot_counts: voting period {period_id} is sealed: INSERT refused")
    with psycopg.connect(app_url.replace("+psycopg", "")) as conn:  # the loader's own path: COPY
        with pytest.raises(psycopg.errors.RaiseException, match="INSERT refused"):
            with conn.cursor().copy(f"COPY ballots ({columns}) FROM STDIN") as copy:
                copy.write_row((period_id, 2, 1, 1, b"", 1, False, None, None))
    capsys.readouterr()
    assert tally(["batch", "void", "2", "--reason", "late"]) == 2
    assert "is sealed" in capsys.readouterr().err

    assert _period(app_url, period_id) == sealed
    with session_scope(app_url) as session:
        assert session.execute(text("SELECT count(*) FROM ballots")).scalar() == 95
        assert session.execute(text("SELECT count(*) FROM load_batches WHERE voided_at IS NOT NULL")).scalar() == 0
        # beat's note on a period it could not handle is the one thing a sealed period still takes
        session.execute(text(f"UPDATE voting_periods SET advance_error = 'noted' {where}"))
    assert tally(["run", str(election_id), str(period_id)]) == 0
    with session_scope(app_url) as session:
        run = session.query(m.TallyRun).one()
        assert (run.status, run.ballots_processed) == (m.RunStatus.COMPLETED, 95)


def test_verify_catches_a_seal_undone_behind_the_database_and_the_batch_voided_after_it(roles, monkeypatch,
                                                                                        tmp_path, capsys):
    _owner_url, app_url, _ = roles
    monkeypatch.setenv("DATABASE_URL", app_url)
    election_id, period_id = _two_batches(app_url, "undone")
    assert tally(["seal", str(election_id), str(period_id)]) == 0
    database = app_url.rsplit("/", 1)[1]
    with psycopg.connect(f"{PG_ADMIN.rsplit('/', 1)[0]}/{database}", autocommit=True) as superuser:
        superuser.execute("SET session_replication_role = replica")  # every trigger off: what no app role can do
        superuser.execute(f"UPDATE voting_periods SET sealed_at = NULL WHERE id = {period_id}")
    assert tally(["batch", "void", "2", "--reason", "late"]) == 0
    capsys.readouterr()
    assert tally(["seal", str(election_id), str(period_id)]) == 0
    assert json.loads(capsys.readouterr().out)["counted"] == 80
    assert tally(["run", str(election_id), str(period_id)]) == 0
    assert tally(["export", "undone", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    files = [str(tmp_path / name) for name in ("ballots.json", "audit.json", "results.json")]
    assert tally(["verify", *files]) == 1
    out = capsys.readouterr()
    report = out.out + out.err
    assert "(ballots sealed): counted 80 differs from the period's first seal" in report, report
    assert "voided_batches [2] differs from the period's first seal" in report, report
    assert "(batch voided, batch 2): comes after period 'main' was sealed" in report, report


def test_a_completed_run_and_its_results_move_only_through_the_audited_rollback(roles, monkeypatch, capsys):
    _owner_url, app_url, _ = roles
    monkeypatch.setenv("DATABASE_URL", app_url)
    election_id, period_id = _two_batches(app_url, "published")
    assert tally(["run", str(election_id), str(period_id), "--force"]) == 0
    with session_scope(app_url) as session:
        run_id, winners = session.execute(text(
            "SELECT r.id, (SELECT count(*) FROM winner_assignments w WHERE w.run_id = r.id) FROM tally_runs r")).one()
    assert winners == 1
    run = f"WHERE id = {run_id}"
    for change in ("status = 'RUNNING'", "status = 'FAILED'", "winners_applied = 0", "ballots_chain_head = 'x'",
                   "status = 'ROLLED_BACK', rolled_back_at = now(), winners_applied = 0"):
        refused(app_url, f"UPDATE tally_runs SET {change} {run}", f"tally run {run_id} is COMPLETED")
    refused(app_url, f"DELETE FROM tally_runs {run}", "DELETE refused")
    for table in ("certified_results", "certified_candidate_results", "winner_assignments"):
        refused(app_url, f"UPDATE {table} SET run_id = run_id", f"{table} is published: UPDATE refused")
        refused(app_url, f"DELETE FROM {table}", f"{table} is published: DELETE refused")
    refused(app_url, "INSERT INTO winner_assignments (run_id, contest_id, candidate_id, seat) "
                      "SELECT run_id, contest_id, candidate_id, seat + 1 FROM certified_candidate_results "
                      "JOIN (SELECT 1 AS seat) s ON true WHERE NOT is_winner LIMIT 1",
             f"winner_assignments: tally run {run_id} is COMPLETED: results are written only while it runs")
    with pytest.raises(DBAPIError, match="is not sealed: only a sealed period is tallied"):
        with session_scope(app_url) as session:
            extra = session.execute(text(
                "INSERT INTO voting_periods (election_id, name, ends_at, status, ballots_count, seal_mode) "
                f"VALUES ({election_id}, 'extra', now(), 'CLOSED', 0, 'manual') RETURNING id")).scalar()
            session.add(m.TallyRun(election_id=election_id, voting_period_id=extra))
            session.flush()

    assert tally(["rollback", str(election_id), str(period_id), "--reason", "recount"]) == 0
    with session_scope(app_url) as session:
        assert session.execute(text("SELECT count(*) FROM winner_assignments")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM certified_results")).scalar() > 0
    for change in ("status = 'COMPLETED'", "rollback_reason = 'other'", "rolled_back_at = NULL"):
        refused(app_url, f"UPDATE tally_runs SET {change} {run}", f"tally run {run_id} is ROLLED_BACK")
    assert tally(["run", str(election_id), str(period_id)]) == 0  # a new run, counted afresh
    with session_scope(app_url) as session:
        assert [s for (s,) in session.execute(text("SELECT status FROM tally_runs ORDER BY id"))] == [
            "ROLLED_BACK", "COMPLETED"]
