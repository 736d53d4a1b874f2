"""Append-only for real: the schema belongs to an owner role that runs the migrations; the application
connects as a role that owns nothing. As that role the whole job works (load, tally, rollback,
export, tokens), and TRUNCATE, UPDATE, DELETE of cast ballots and audit events and
ALTER TABLE ... DISABLE TRIGGER all fail; TRUNCATE fails for the owner too (a statement trigger)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from models.db import session_scope
from tests.api.conftest import make_election
from tests.support import Stack, refused

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_the_app_role_does_the_job_and_cannot_empty_the_append_only_tables(roles, tmp_path):
    owner_url, app_url, app = roles
    stack = Stack(app_url, "", tmp_path)  # the application as the app role, Celery in-process
    election = make_election(app_url, "roles", ballots=50)
    stack.cli("run", str(election.id), str(election.period_id), "--force")
    status = json.loads(stack.cli("status", str(election.id), str(election.period_id)).stdout)
    assert status["status"] == "COMPLETED"
    stack.cli("export", str(election.id), "--out", str(tmp_path / "out"))
    stack.cli("rollback", str(election.id), str(election.period_id), "--reason", "roles test")
    stack.cli("token", "create", "--role", "ADMIN")
    with session_scope(app_url) as session:
        assert session.execute(text("SELECT current_user")).scalar() == app
        ballots, events = session.execute(text(
            "SELECT (SELECT count(*) FROM ballots), (SELECT count(*) FROM audit_events)")).one()
    assert ballots == 150 and events > 0

    for table in ("ballots", "audit_events"):
        refused(app_url, f"TRUNCATE {table}", "permission denied")
        refused(app_url, f"ALTER TABLE {table} DISABLE TRIGGER ALL", "must be owner")
        refused(app_url, f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate", "must be owner")
        refused(app_url, f"UPDATE {table} SET id = id", "permission denied")
        refused(app_url, f"DELETE FROM {table}", "permission denied")
        refused(app_url, f"DROP TABLE {table}", "must be owner")
        # the owner cannot TRUNCATE either without first dropping the trigger in plain sight
        refused(owner_url, f"TRUNCATE {table} CASCADE", "append-only: TRUNCATE refused")
    refused(app_url, "CREATE TABLE sneaky (id int)", "permission denied")
    refused(app_url, "UPDATE alembic_version SET version_num = '0001'", "permission denied")
    with session_scope(app_url) as session:
        assert session.execute(text(
            "SELECT (SELECT count(*) FROM ballots), (SELECT count(*) FROM audit_events) > 0")).one() == (150, True)
