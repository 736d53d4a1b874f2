"""sealing, load batches, the definition hash, advance errors, empty tallies

voting_periods.seal_mode / sealed_at / sealed_definition_hash: a period's ballots are sealed before
it is tallied ("at-close": when voting closes; "manual": by `tally seal`). Periods closed before
this revision were frozen at close, so they read as sealed then.
voting_periods.advance_error: why `advance` could not handle the period, kept until it can.
elections.definition_hash: the hash of everything that changes a count (services.definition),
recorded when the first ballots are loaded.
load_batches and ballots.batch_id: each load is a batch (also an audit event); a voided batch's
ballots stay stored and are not counted.
tally_runs.allow_empty: the operator asked to tally a period without ballots (no winners).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("voting_periods", sa.Column("seal_mode", sa.String(10), nullable=False, server_default="at-close"))
    op.add_column("voting_periods", sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("voting_periods", sa.Column("sealed_definition_hash", sa.String(64), nullable=True))
    op.add_column("voting_periods", sa.Column("advance_error", sa.Text(), nullable=True))
    op.execute("UPDATE voting_periods SET sealed_at = closed_at WHERE status = 'CLOSED'")
    op.add_column("elections", sa.Column("definition_hash", sa.String(64), nullable=True))
    op.add_column("ballots", sa.Column("batch_id", sa.Integer(), nullable=True))
    op.add_column(
        "tally_runs", sa.Column("allow_empty", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )
    op.create_table(
        "load_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), sa.ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("voting_period_id", sa.Integer(), sa.ForeignKey("voting_periods.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("file_sha256", sa.String(64), nullable=True),
        sa.Column("content_digest", sa.String(64), nullable=True),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("weight", sa.BigInteger(), nullable=False),
        sa.Column("count_before", sa.BigInteger(), nullable=False),
        sa.Column("count_after", sa.BigInteger(), nullable=False),
        sa.Column("chain_before", sa.String(64), nullable=True),
        sa.Column("chain_after", sa.String(64), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_load_batches_election_id", "load_batches", ["election_id"])
    op.create_index("ix_load_batches_period_digest", "load_batches", ["voting_period_id", "content_digest"])


def downgrade() -> None:
    op.drop_index("ix_load_batches_period_digest", "load_batches")
    op.drop_index("ix_load_batches_election_id", "load_batches")
    op.drop_table("load_batches")
    op.drop_column("tally_runs", "allow_empty")
    op.drop_column("ballots", "batch_id")
    op.drop_column("elections", "definition_hash")
    for column in ("advance_error", "sealed_definition_hash", "sealed_at", "seal_mode"):
        op.drop_column("voting_periods", column)
