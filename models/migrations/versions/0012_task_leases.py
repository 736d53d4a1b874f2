"""task_leases: the tally tasks running now, renewed by their workers (a lost worker's expire)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_leases",
        sa.Column("task_id", sa.String(255), primary_key=True),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(100), nullable=False),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_leases_run_id", "task_leases", ["run_id"])


def downgrade() -> None:
    op.drop_table("task_leases")
