"""cast ballots are append-only: no UPDATE or DELETE, whatever the application does

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:25:00
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # refuse_change() comes from 0001 (audit_events)
        op.execute(
            "CREATE TRIGGER ballots_append_only BEFORE UPDATE OR DELETE ON ballots "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ballots_no_{action.lower()} BEFORE {action} ON ballots "
                f"BEGIN SELECT RAISE(ABORT, 'ballots is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ballots_append_only ON ballots")
    else:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER ballots_no_{action}")
