"""load_jobs: uploads the admin API loads after answering 202, polled by the client

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 06:50:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "load_jobs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("election_id", sa.Integer(), sa.ForeignKey("elections.id", ondelete="CASCADE"), nullable=False),
        sa.Column("voting_period_id", sa.Integer(), sa.ForeignKey("voting_periods.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_load_jobs_election_id", "load_jobs", ["election_id"])


def downgrade() -> None:
    op.drop_table("load_jobs")
