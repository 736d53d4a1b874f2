"""Append-only for real: the schema belongs to an owner role that runs the migrations; the application
connects as a role that owns nothing. As that role the whole job works (load, tally, rollback,
export, tokens), and TRUNCATE, UPDATE, DELETE of cast ballots and audit events and
ALTER TABLE ... DISABLE TRIGGER all fail; TRUNCATE fails for the owner too (a statement trigger)."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.db import get_engine, session_scope, upgrade
from tests.api.conftest import make_election
from tests.support import PG_ADMIN, Stack

pytestmark = pytest.mark.integration


@pytest.fixture
def roles():
    """A database owned by a fresh owner role (not a superuser), migrated by it, with a fresh
    application role granted by `tally db upgrade`; everything dropped afterwards."""
    tag = uuid.uuid4().hex[:10]
    owner, app, name = f"tally_owner_{tag}", f"tally_app_{tag}", f"tally_roles_{tag}"
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "")
    host = base.split("@", 1)[-1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{app}" LOGIN')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as db:
            # PostgreSQL 15: the public schema belongs to pg_database_owner, i.e. the owner role
            db.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    owner_url = f"postgresql+psycopg://{owner}@{host}/{name}"
    app_url = f"postgresql+psycopg://{app}@{host}/{name}"
    try:
        upgrade(owner_url, app_role=app)
        yield owner_url, app_url, app
    finally:
        for url in (owner_url, app_url):
            get_engine(url).dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{app}"')
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')


def _refused(url: str, statement: str, match: str) -> None:
    with pytest.raises(DBAPIError, match=match):
        with session_scope(url) as session:
            session.execute(text(statement))


def test_the_app_role_does_the_job_and_cannot_empty_the_append_only_tables(roles, tmp_path):
    owner_url, app_url, app = roles
    stack = Stack(app_url, "", tmp_path)  # the application as the app role, Celery in-process
    election = make_election(app_url, "roles", ballots=50)
    stack.tally("run", str(election.id), str(election.period_id), "--force")
    status = json.loads(stack.tally("status", str(election.id), str(election.period_id)).stdout)
    assert status["status"] == "COMPLETED"
    stack.tally("export", str(election.id), "--out", str(tmp_path / "out"))
    stack.tally("rollback", str(election.id), str(election.period_id), "--reason", "roles test")
    stack.tally("token", "create", "--role", "ADMIN")
    with session_scope(app_url) as session:
        assert session.execute(text("SELECT current_user")).scalar() == app
        ballots, events = session.execute(text(
            "SELECT (SELECT count(*) FROM ballots), (SELECT count(*) FROM audit_events)")).one()
    assert ballots == 150 and events > 0

    for table in ("ballots", "audit_events"):
        _refused(app_url, f"TRUNCATE {table}", "permission denied")
        _refused(app_url, f"ALTER TABLE {table} DISABLE TRIGGER ALL", "must be owner")
        _refused(app_url, f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate", "must be owner")
        _refused(app_url, f"UPDATE {table} SET id = id", "permission denied")
        _refused(app_url, f"DELETE FROM {table}", "permission denied")
        _refused(app_url, f"DROP TABLE {table}", "must be owner")
        # the owner cannot TRUNCATE either without first dropping the trigger in plain sight
        _refused(owner_url, f"TRUNCATE {table} CASCADE", "append-only: TRUNCATE refused")
    _refused(app_url, "CREATE TABLE sneaky (id int)", "permission denied")
    _refused(app_url, "UPDATE alembic_version SET version_num = '0001'", "permission denied")
    with session_scope(app_url) as session:
        assert session.execute(text(
            "SELECT (SELECT count(*) FROM ballots), (SELECT count(*) FROM audit_events) > 0")).one() == (150, True)
