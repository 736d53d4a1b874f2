"""The application's database role: it owns nothing and may do only what the application does.

Migrations run as the owner of the schema (`tally db upgrade` with the owner's DATABASE_URL); the
API, the workers and beat connect as another role, which `tally db upgrade` grants, after every
upgrade, exactly this (TALLY_DB_APP_ROLE names it):
- SELECT and INSERT on the append-only tables (cast ballots, their counts per area, audit events):
  no UPDATE, DELETE or TRUNCATE, and, not being their owner, it cannot drop their triggers or
  disable them;
- SELECT, INSERT, UPDATE, DELETE on the other tables (runs, staged and certified results, tokens...),
  where triggers (migration 0010) refuse, to every role, whatever would undo a seal, move a run
  backwards or change a published result;
- SELECT on alembic_version; sequences to draw ids; TEMPORARY on the database; nothing else.
The roles themselves are made once by a superuser (docs/operations.md, compose's initdb script)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

APPEND_ONLY = ("ballots", "area_ballot_counts", "audit_events")
READ_ONLY = ("alembic_version",)


def grant_app_role(connection: Connection, role: str) -> None:
    if connection.dialect.name != "postgresql":
        return  # the embedded SQLite file has no roles
    who = connection.dialect.identifier_preparer.quote(role)
    database = connection.dialect.identifier_preparer.quote(connection.scalar(text("SELECT current_database()")))
    tables = connection.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")).all()
    statements = [
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"REVOKE CREATE ON SCHEMA public FROM {who}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
    ]
    for table in tables:
        if table in APPEND_ONLY:
            privileges = "SELECT, INSERT"
        elif table in READ_ONLY:
            privileges = "SELECT"
        else:
            privileges = "SELECT, INSERT, UPDATE, DELETE"
        statements.append(f'GRANT {privileges} ON TABLE public."{table}" TO {who}')
    for statement in statements:
        connection.execute(text(statement))
