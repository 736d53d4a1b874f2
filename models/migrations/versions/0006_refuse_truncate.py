"""cast ballots and audit events refuse TRUNCATE (a statement-level trigger), for every role

The row triggers of 0001/0002 refuse UPDATE and DELETE, but TRUNCATE fires no row trigger. The
application's role has no TRUNCATE privilege either (models/roles.py); this trigger also stops the
owner, who would have to drop it first, in a migration anyone can read.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:20:00
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("ballots", "audit_events")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no TRUNCATE
    for table in TABLES:
        # refuse_change() comes from 0001: it names the table and the operation
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
