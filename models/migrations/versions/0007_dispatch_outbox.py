"""dispatches: the outbox of tally dispatches, committed with the run that asks for one

A PENDING run left by an older version (its enqueue may have been lost with the broker) gets an
unsent dispatch, so the next dispatcher pass starts it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("tally_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_dispatches_run_id", "dispatches", ["run_id"])
    op.create_index("ix_dispatches_unsent", "dispatches", ["id"], postgresql_where=sa.text("sent_at IS NULL"),
                    sqlite_where=sa.text("sent_at IS NULL"))
    op.execute(
        "INSERT INTO dispatches (run_id, reason, created_at, attempts) "
        "SELECT id, 'requested', CURRENT_TIMESTAMP, 0 FROM tally_runs WHERE status = 'PENDING'"
    )


def downgrade() -> None:
    op.drop_table("dispatches")
