"""a run can wait for an official's tie decision: status WAITING and `waiting_for`

A count that meets a tie its rules leave to an official (`tie_break: "official"`, RCTab's ask modes) stops
and the run waits, naming the tie in `waiting_for`, until `tally tie decide` records the decision; then it
goes on (WAITING -> PENDING -> RUNNING). A waiting run is live: no second run of its period may start. The
guard of revision 0010 lets a run move from RUNNING to WAITING and from WAITING to PENDING or FAILED.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FORWARDS = ("('PENDING', 'PENDING'), ('PENDING', 'RUNNING'), ('PENDING', 'FAILED'), "
            "('RUNNING', 'RUNNING'), ('RUNNING', 'COMPLETED'), ('RUNNING', 'FAILED')")
WAITING = "('RUNNING', 'WAITING'), ('WAITING', 'WAITING'), ('WAITING', 'PENDING'), ('WAITING', 'FAILED')"
LIVE = "status IN ('PENDING', 'RUNNING', 'COMPLETED')"
LIVE_OR_WAITING = "status IN ('PENDING', 'RUNNING', 'WAITING', 'COMPLETED')"


def _guard(transitions: str) -> str:
    """guard_tally_run of revision 0010, with the moves a run that has not ended may make."""
    return f"""
        DECLARE
            sealed timestamptz;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'tally run % is kept: DELETE refused', OLD.id;
            END IF;
            IF TG_OP = 'INSERT' THEN
                SELECT sealed_at INTO sealed FROM voting_periods WHERE id = NEW.voting_period_id FOR SHARE;
                IF sealed IS NULL THEN
                    RAISE EXCEPTION 'voting period % is not sealed: only a sealed period is tallied',
                        NEW.voting_period_id;
                END IF;
                RETURN NEW;
            END IF;
            IF (NEW.id, NEW.election_id, NEW.voting_period_id) IS DISTINCT FROM
               (OLD.id, OLD.election_id, OLD.voting_period_id) THEN
                RAISE EXCEPTION 'tally run % cannot move to another period', OLD.id;
            END IF;
            IF OLD.status = 'COMPLETED' THEN
                IF NEW.status <> 'ROLLED_BACK' OR NEW.rolled_back_at IS NULL
                   OR (to_jsonb(NEW) - 'status' - 'rolled_back_at' - 'rollback_reason')
                      IS DISTINCT FROM (to_jsonb(OLD) - 'status' - 'rolled_back_at' - 'rollback_reason') THEN
                    RAISE EXCEPTION 'tally run % is COMPLETED: only a rollback changes it', OLD.id;
                END IF;
            ELSIF OLD.status IN ('FAILED', 'ROLLED_BACK') THEN
                IF to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) THEN
                    RAISE EXCEPTION 'tally run % is %: it changes no more', OLD.id, OLD.status;
                END IF;
            ELSIF NOT (OLD.status, NEW.status) IN ({transitions}) THEN
                RAISE EXCEPTION 'tally run % cannot move from % to %', OLD.id, OLD.status, NEW.status;
            END IF;
            RETURN NEW;
        END"""


def _live_index(where: str) -> None:
    op.drop_index("uq_tally_runs_live", table_name="tally_runs")
    op.create_index("uq_tally_runs_live", "tally_runs", ["election_id", "voting_period_id"], unique=True,
                    postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade() -> None:
    op.add_column("tally_runs", sa.Column("waiting_for", sa.JSON(), nullable=True))
    _live_index(LIVE_OR_WAITING)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE FUNCTION guard_tally_run() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$${_guard(FORWARDS + ', ' + WAITING)}$$")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE OR REPLACE FUNCTION guard_tally_run() RETURNS trigger LANGUAGE plpgsql AS $${_guard(FORWARDS)}$$")
    _live_index(LIVE)
    with op.batch_alter_table("tally_runs") as batch:
        batch.drop_column("waiting_for")
