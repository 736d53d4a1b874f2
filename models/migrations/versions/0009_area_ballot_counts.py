"""area_ballot_counts: ballot records per load batch and (contest, area), written at load

A tally's plan sizes its area tasks by these instead of counting every ballot of the period first.
Filled here from the ballots already stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 21:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_ballot_counts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("voting_period_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("contest_id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_area_ballot_counts_voting_period_id", "area_ballot_counts", ["voting_period_id"])
    op.execute(
        "INSERT INTO area_ballot_counts (voting_period_id, batch_id, contest_id, area_id, records)"
        " SELECT voting_period_id, batch_id, contest_id, area_id, count(*) FROM ballots"
        " GROUP BY voting_period_id, batch_id, contest_id, area_id"
    )


def downgrade() -> None:
    op.drop_table("area_ballot_counts")
