"""Issue 13: one certified outcome, from exactly the ballots and definition that were sealed.
Each test here failed on the code before the issue's fixes."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import entities as m
from models.db import get_engine, session_scope
from services.pipeline.publish import finalize
from services.lifecycle.commands import RequestTally, RollBack
from tasks.base import record_failure
from tests import factories as f
from tests.support import write_json

pytestmark = pytest.mark.integration


def _kinds(url: str, election_id: int) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(
            select(m.AuditEvent.kind).where(m.AuditEvent.election_id == election_id).order_by(m.AuditEvent.seq)))


def _waiting_for_a_lock(url: str) -> bool:
    with get_engine(url).connect() as conn:
        return bool(conn.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")))


def test_a_failure_recorded_while_finalize_commits_never_overwrites_the_published_run(embedded_db):
    """Defect 1: finalize's transaction is held open, a failure (finalize's spent retries) is
    recorded from another session meanwhile, then finalize commits: exactly one outcome."""
    definition = f.election("race-final", [f.contest("mayor", "plurality-at-large", candidates=3)])
    election_id, period_id = f.load(embedded_db, definition, f.random_ballots(definition, 200, seed=3))
    run_id = f.staged_run(embedded_db, election_id, period_id)
    finalizing = Session(get_engine(embedded_db), expire_on_commit=False)
    assert finalize(finalizing, run_id)  # published, not yet committed
    failure = threading.Thread(target=record_failure, args=(run_id, "finalize failed: retries spent"))
    failure.start()
    deadline = time.monotonic() + 30
    while not _waiting_for_a_lock(embedded_db):  # the failure waits on the run's row lock
        assert time.monotonic() < deadline and failure.is_alive()
        time.sleep(0.05)
    finalizing.commit()
    finalizing.close()
    failure.join(30)
    assert not failure.is_alive()
    with session_scope(embedded_db) as session:
        run = session.get(m.TallyRun, run_id)
        assert run.status == m.RunStatus.COMPLETED and run.error is None
        assert session.get(m.Election, election_id).status == "tallied"
        again, created = RequestTally(election_id, period_id).run(session)
        assert (again.id, created) == (run_id, False)  # no second run can publish other winners
    kinds = _kinds(embedded_db, election_id)
    assert "tally completed" in kinds and "tally failed" not in kinds
    with session_scope(embedded_db) as session:  # and the rollback the runbook asks for works
        assert RollBack(election_id, period_id, "check").run(session).status == "ROLLED_BACK"


def test_a_run_failed_first_is_never_published_by_a_late_finalize(embedded_db):
    definition = f.election("race-fail", [f.contest("mayor", "plurality-at-large", candidates=3)])
    election_id, period_id = f.load(embedded_db, definition, f.random_ballots(definition, 100, seed=4))
    run_id = f.staged_run(embedded_db, election_id, period_id)
    record_failure(run_id, "stuck")
    with session_scope(embedded_db) as session:
        assert not finalize(session, run_id)
        assert session.get(m.TallyRun, run_id).status == m.RunStatus.FAILED
        assert session.scalar(select(m.CertifiedResult.id).limit(1)) is None
    record_failure(run_id, "a second, later failure")  # changes nothing, records nothing
    assert _kinds(embedded_db, election_id).count("tally failed") == 1


def test_rolling_back_one_period_leaves_the_election_tallied_while_another_is_published(embedded_db):
    """Defect 10: the election's status follows all its periods."""
    definition = f.election("two-periods", [f.contest("mayor", "plurality-at-large", candidates=3)])
    definition["voting_periods"].append({"name": "late", "ends_at": "2020-01-02T00:00:00Z"})
    election_id, first = f.load(embedded_db, definition, f.random_ballots(definition, 100, seed=5))
    second = f.load_more(embedded_db, definition, "late", f.random_ballots(definition, 80, seed=6))
    for period_id in (first, second):
        with session_scope(embedded_db) as session:
            assert finalize(session, f.staged_run(embedded_db, election_id, period_id))
    with session_scope(embedded_db) as session:
        RollBack(election_id, first, "recount").run(session)
        assert session.get(m.Election, election_id).status == "tallied"
    with session_scope(embedded_db) as session:
        RollBack(election_id, second, "recount").run(session)
        assert session.get(m.Election, election_id).status == "closed"


@pytest.mark.parametrize(
    "period, field",
    [
        ({"ends_at": "0001-01-01T00:00:00+14:00"}, "voting_periods[0].ends_at"),
        ({"ends_at": "9999-12-31T23:00:00-05:00"}, "voting_periods[0].ends_at"),
        ({"ends_at": "1899-12-31T23:59:59Z"}, "voting_periods[0].ends_at"),
        ({"starts_at": "0001-01-01T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}, "voting_periods[0].starts_at"),
        ({"starts_at": "2026-01-02T00:00:00Z", "ends_at": "2026-01-01T00:00:00Z"}, "voting_periods[0].ends_at"),
    ],
)
def test_dates_outside_the_years_or_ending_before_they_start_are_refused(stack, period, field):
    """Defect 8, at load."""
    definition = f.election("dates", [f.contest("mayor", "plurality-at-large")])
    definition["voting_periods"] = [{"name": "main", **period}]
    result = stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)), check=False)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {field}:"), result.stderr


def test_one_unreadable_period_never_stops_advance_for_the_others(stack):
    """Defect 8: a date the driver cannot read (written behind the loader's back) is confined to
    its own period; the other elections close and tally, and the error is kept on the row."""
    ids = []
    for key in ("good-1", "bad", "good-2"):
        definition = f.election(key, [f.contest("c", "plurality-at-large")])
        ids.append(f.load(stack.database_url, definition, f.random_ballots(definition, 30, seed=1)))
    with stack.session() as session:
        session.execute(text("UPDATE voting_periods SET ends_at = '0001-01-01 00:00:00+14' WHERE id = :p"),
                        {"p": ids[1][1]})
    result = stack.tally("advance")
    assert f"error: election {ids[1][0]} period {ids[1][1]}:" in result.stderr
    for election_id, period_id in (ids[0], ids[2]):
        assert f"tallying: election {election_id} period {period_id}" in result.stdout
    with stack.session() as session:
        kept = session.execute(text("SELECT id, advance_error FROM voting_periods ORDER BY id")).all()
    assert [error is not None for _, error in kept] == [False, True, False]
    assert "DataError" in kept[1][1]


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["areas"][1].update(weight=2**31), "areas[1].weight"),
        (lambda d: d["areas"][1].update(census=2**63), "areas[1].census"),
        (lambda d: d["areas"][1].update(id="x" * 300), "areas[1].id"),
        (lambda d: d["election"].update(id="e" * 300), "election.id"),
        (lambda d: d["contests"][0].update(id="c" * 300), "contests[0].id"),
        (lambda d: d["contests"][0]["candidates"][0].update(name="n" * 600), "contests[0].candidates[0].name"),
        (lambda d: d["contests"][0].update(seats=2**31), "contests[0].seats"),
        (lambda d: d["areas"][1].update(name="North\x00"), "areas[1].name"),
        (lambda d: d["contests"][0].update(options={"threshold": float("nan")}), "contests[0].options.threshold"),
        (lambda d: d["contests"][0].update(options={"threshold": float("inf")}), "contests[0].options.threshold"),
        (lambda d: d["contests"][0]["candidates"][0].update(name="\ud800"), "contests[0].candidates[0].name"),
    ],
)
def test_every_definition_error_exits_2_naming_the_field(stack, mutate, field):
    """Defect 9: lengths, integer ranges, NUL, NaN/Infinity, lone surrogates."""
    definition = f.election("hostile-def", [f.contest("mayor", "plurality-at-large")])
    mutate(definition)
    path = stack.workdir / "d.json"
    path.write_text(json.dumps(definition))  # NaN and Infinity as Python's json writes them
    result = stack.cli("load", "--definition", str(path), check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {field}:"), result.stderr
    assert "Traceback" not in result.stderr


def test_a_definition_that_is_not_utf8_exits_2(stack):
    path = stack.workdir / "d.json"
    path.write_bytes(json.dumps(f.election("latin", [f.contest("m", "plurality-at-large")])).encode()
                     .replace(b"Test latin", b"Test \xe9lection"))
    result = stack.cli("load", "--definition", str(path), check=False)
    assert result.returncode == 2 and "not UTF-8" in result.stderr and str(path) in result.stderr, result.stderr
