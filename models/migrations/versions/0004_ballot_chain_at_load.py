"""ballots: the chain is kept at load time and rows are checked by the loader, not per-row FKs

Three foreign keys on ballots made PostgreSQL run three lookups per loaded row: a fifth of the
loader's speed. The loader (the only writer) checks each record's contest and area against the
election's ballot styles before anything is written, which is stricter than the keys were; and
so that no ballot is ever orphaned, a period, contest or area that has ballots cannot be deleted
(before, the cascade ran into the append-only trigger). SQLite keeps its keys: there they cost
little and the embedded default loads small elections.

voting_periods.ballots_count / ballots_chain_head: the period's ballot hash chain (services.ballot_chain),
extended by each load in cast order, so finalize reads it instead of hashing every ballot again.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_GUARDED = {"voting_periods": "voting_period_id", "contests": "contest_id", "areas": "area_id"}


def upgrade() -> None:
    op.add_column("voting_periods", sa.Column("ballots_count", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("voting_periods", sa.Column("ballots_chain_head", sa.String(64), nullable=True))
    # Periods loaded before this revision: their chain is computed from the rows on first use
    # (services.ballot_chain.period_chain_state), which needs to know they have ballots.
    op.execute(
        "UPDATE voting_periods SET ballots_count = "
        "(SELECT count(*) FROM ballots WHERE ballots.voting_period_id = voting_periods.id)"
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in _GUARDED.values():
        op.drop_constraint(f"ballots_{column}_fkey", "ballots", type_="foreignkey")
    op.execute(
        """
        CREATE FUNCTION refuse_delete_with_ballots() RETURNS trigger AS $$
        BEGIN
            -- each query reaches ballots through its (period, contest, area) index
            IF TG_TABLE_NAME = 'voting_periods' THEN
                PERFORM 1 FROM ballots b WHERE b.voting_period_id = OLD.id LIMIT 1;
            ELSIF TG_TABLE_NAME = 'contests' THEN
                PERFORM 1 FROM voting_periods p JOIN ballots b ON b.voting_period_id = p.id AND b.contest_id = OLD.id
                WHERE p.election_id = OLD.election_id LIMIT 1;
            ELSE
                PERFORM 1 FROM voting_periods p JOIN contests c ON c.election_id = p.election_id
                JOIN ballots b ON b.voting_period_id = p.id AND b.contest_id = c.id AND b.area_id = OLD.id
                WHERE p.election_id = OLD.election_id LIMIT 1;
            END IF;
            IF FOUND THEN
                RAISE EXCEPTION '% %: has cast ballots, which are kept: DELETE refused', TG_TABLE_NAME, OLD.id;
            END IF;
            RETURN OLD;
        END;
        $$ LANGUAGE plpgsql
        """
    )
    for table in _GUARDED:
        op.execute(
            f"CREATE TRIGGER {table}_keep_ballots BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_delete_with_ballots()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _GUARDED:
            op.execute(f"DROP TRIGGER {table}_keep_ballots ON {table}")
        op.execute("DROP FUNCTION refuse_delete_with_ballots()")
        target = {"voting_period_id": "voting_periods", "contest_id": "contests", "area_id": "areas"}
        for column, table in target.items():
            op.create_foreign_key(f"ballots_{column}_fkey", "ballots", table, [column], ["id"], ondelete="CASCADE")
    op.drop_column("voting_periods", "ballots_chain_head")
    op.drop_column("voting_periods", "ballots_count")
