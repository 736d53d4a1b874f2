"""staged_area_results.staged_at: area tasks report progress on their own row, not the run's

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 05:55:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staged_area_results", sa.Column("staged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("staged_area_results", "staged_at")
