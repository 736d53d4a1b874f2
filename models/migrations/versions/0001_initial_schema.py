"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 04:07:07.917918
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=50), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_table('elections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('census', sa.BigInteger(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['elections.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['areas.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('election_id', 'key')
    )
    op.create_index(op.f('ix_areas_election_id'), 'areas', ['election_id'], unique=False)
    op.create_index(op.f('ix_areas_parent_id'), 'areas', ['parent_id'], unique=False)
    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.String(length=40), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['elections.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('election_id', 'seq')
    )
    op.create_index(op.f('ix_audit_events_election_id'), 'audit_events', ['election_id'], unique=False)
    op.create_table('contests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=50), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('min_votes', sa.Integer(), nullable=False),
    sa.Column('max_votes', sa.Integer(), nullable=True),
    sa.Column('blank_policy', sa.String(length=20), nullable=False),
    sa.Column('options', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('annotations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['election_id'], ['elections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('election_id', 'key')
    )
    op.create_index(op.f('ix_contests_election_id'), 'contests', ['election_id'], unique=False)
    op.create_table('voting_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('OPEN', 'CLOSED', name='periodstatus', native_enum=False, length=10), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['election_id'], ['elections.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_voting_periods_election_id'), 'voting_periods', ['election_id'], unique=False)
    op.create_table('ballot_styles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('area_annotations', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contest_id', 'area_id')
    )
    op.create_index(op.f('ix_ballot_styles_area_id'), 'ballot_styles', ['area_id'], unique=False)
    op.create_table('ballots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('voting_period_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('marks', sa.LargeBinary(), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('explicit_invalid', sa.Boolean(), nullable=False),
    sa.Column('defect', sa.String(length=50), nullable=True),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voting_period_id'], ['voting_periods.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_ballots_period_contest_area', 'ballots', ['voting_period_id', 'contest_id', 'area_id'], unique=False)
    op.create_table('candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('tie_break_key', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=200), nullable=True),
    sa.Column('gender', sa.String(length=50), nullable=True),
    sa.Column('undeclared_write_in', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contest_id', 'key'),
    sa.UniqueConstraint('contest_id', 'position')
    )
    op.create_index(op.f('ix_candidates_contest_id'), 'candidates', ['contest_id'], unique=False)
    op.create_table('exclusion_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('members', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('max_elected', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_exclusion_groups_contest_id'), 'exclusion_groups', ['contest_id'], unique=False)
    op.create_table('tally_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('election_id', sa.Integer(), nullable=False),
    sa.Column('voting_period_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'ROLLED_BACK', name='runstatus', native_enum=False, length=20), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=True),
    sa.Column('completed_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('dispatches', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('areas_total', sa.Integer(), nullable=False),
    sa.Column('areas_done', sa.Integer(), nullable=False),
    sa.Column('ballots_processed', sa.BigInteger(), nullable=False),
    sa.Column('positions_tallied', sa.Integer(), nullable=True),
    sa.Column('winners_applied', sa.Integer(), nullable=True),
    sa.Column('ties_detected', sa.Integer(), nullable=True),
    sa.Column('ballots_chain_head', sa.String(length=64), nullable=True),
    sa.Column('rolled_back_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rollback_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['election_id'], ['elections.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['voting_period_id'], ['voting_periods.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_tally_runs_election_id'), 'tally_runs', ['election_id'], unique=False)
    op.create_index(op.f('ix_tally_runs_voting_period_id'), 'tally_runs', ['voting_period_id'], unique=False)
    op.create_index('uq_tally_runs_live', 'tally_runs', ['election_id', 'voting_period_id'], unique=True, postgresql_where=sa.text("status IN ('PENDING', 'RUNNING', 'COMPLETED')"), sqlite_where=sa.text("status IN ('PENDING', 'RUNNING', 'COMPLETED')"))
    op.create_table('certified_candidate_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('vote_count', sa.String(length=120), nullable=False),
    sa.Column('vote_share_percent', sa.String(length=20), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('is_winner', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'contest_id', 'candidate_id')
    )
    op.create_index(op.f('ix_certified_candidate_results_run_id'), 'certified_candidate_results', ['run_id'], unique=False)
    op.create_table('certified_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('CONTEST', 'AREA', 'SUBTREE', name='resultscope', native_enum=False, length=10), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('total_ballots', sa.BigInteger(), nullable=False),
    sa.Column('turnout_percent', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'contest_id', 'scope', 'area_id')
    )
    op.create_index(op.f('ix_certified_results_run_id'), 'certified_results', ['run_id'], unique=False)
    op.create_table('staged_area_results',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('operation', sa.String(length=30), nullable=False),
    sa.Column('participation', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('valid_ballots', sa.LargeBinary(), nullable=True),
    sa.Column('ballots_read', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'contest_id', 'area_id')
    )
    op.create_table('staged_contest_results',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('run_id', 'contest_id')
    )
    op.create_table('winner_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('contest_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'contest_id', 'candidate_id')
    )
    op.create_index(op.f('ix_winner_assignments_run_id'), 'winner_assignments', ['run_id'], unique=False)
    _append_only("audit_events")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE in the database itself, whatever the application does."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    op.drop_index(op.f('ix_winner_assignments_run_id'), table_name='winner_assignments')
    op.drop_table('winner_assignments')
    op.drop_table('staged_contest_results')
    op.drop_table('staged_area_results')
    op.drop_index(op.f('ix_certified_results_run_id'), table_name='certified_results')
    op.drop_table('certified_results')
    op.drop_index(op.f('ix_certified_candidate_results_run_id'), table_name='certified_candidate_results')
    op.drop_table('certified_candidate_results')
    op.drop_index('uq_tally_runs_live', table_name='tally_runs', postgresql_where=sa.text("status IN ('PENDING', 'RUNNING', 'COMPLETED')"), sqlite_where=sa.text("status IN ('PENDING', 'RUNNING', 'COMPLETED')"))
    op.drop_index(op.f('ix_tally_runs_voting_period_id'), table_name='tally_runs')
    op.drop_index(op.f('ix_tally_runs_election_id'), table_name='tally_runs')
    op.drop_table('tally_runs')
    op.drop_index(op.f('ix_exclusion_groups_contest_id'), table_name='exclusion_groups')
    op.drop_table('exclusion_groups')
    op.drop_index(op.f('ix_candidates_contest_id'), table_name='candidates')
    op.drop_table('candidates')
    op.drop_index('ix_ballots_period_contest_area', table_name='ballots')
    op.drop_table('ballots')
    op.drop_index(op.f('ix_ballot_styles_area_id'), table_name='ballot_styles')
    op.drop_table('ballot_styles')
    op.drop_index(op.f('ix_voting_periods_election_id'), table_name='voting_periods')
    op.drop_table('voting_periods')
    op.drop_index(op.f('ix_contests_election_id'), table_name='contests')
    op.drop_table('contests')
    op.drop_index(op.f('ix_audit_events_election_id'), table_name='audit_events')
    op.drop_table('audit_events')
    op.drop_index(op.f('ix_areas_parent_id'), table_name='areas')
    op.drop_index(op.f('ix_areas_election_id'), table_name='areas')
    op.drop_table('areas')
    op.drop_table('elections')
    op.drop_table('api_tokens')
