"""a seal, a completed run and a published result hold at the database, whoever connects

The application's role may UPDATE voting periods, runs and results (models/roles.py): before
this revision it could clear a seal, void a batch after it, load more ballots, move a completed
run back or change a published result. Triggers now refuse, for every role:
- voting_periods: a sealed period changes no more (only `advance_error`, beat's note, may) and is
  never deleted; a closed one never reopens; only a closed one is sealed;
- ballots, area_ballot_counts: no rows for a sealed period (one check per statement, over its
  transition table: a server-side COPY of 1M ballots took 1.31 s with it, 1.13-1.15 s without,
  and 5.5 s with a row trigger doing the same check);
- load_batches: none added, changed or voided once the period is sealed; a void is final; a
  batch is never deleted;
- tally_runs: only a sealed period gets a run; a run moves only forwards (PENDING -> RUNNING ->
  COMPLETED -> ROLLED_BACK, or to FAILED), a completed one only to ROLLED_BACK with its time and
  reason and nothing else changed; ended runs are never deleted;
- certified_results, certified_candidate_results, winner_assignments: written only while their
  run is RUNNING (finalize), never changed, never deleted, except the winners of a run rolled back.
The checks lock the period (or run) rows they read FOR SHARE, so a seal or a transition
committing meanwhile is waited for and seen. TRUNCATE needs a privilege the application's role
does not have. SQLite, the embedded single-user file, has no roles
and no such triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 01:30:00
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FUNCTIONS = {
    "guard_voting_period": """
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.sealed_at IS NOT NULL THEN
                    RAISE EXCEPTION 'voting period % is sealed: DELETE refused', OLD.id;
                END IF;
                RETURN OLD;
            END IF;
            IF OLD.sealed_at IS NOT NULL
               AND (to_jsonb(NEW) - 'advance_error') IS DISTINCT FROM (to_jsonb(OLD) - 'advance_error') THEN
                RAISE EXCEPTION 'voting period % is sealed: its seal, ballots and state cannot change', OLD.id;
            END IF;
            IF OLD.status = 'CLOSED' AND (NEW.status <> 'CLOSED' OR NEW.closed_at IS DISTINCT FROM OLD.closed_at) THEN
                RAISE EXCEPTION 'voting period % is closed: it cannot reopen', OLD.id;
            END IF;
            IF NEW.sealed_at IS NOT NULL AND NEW.status <> 'CLOSED' THEN
                RAISE EXCEPTION 'voting period % is open: only a closed period is sealed', OLD.id;
            END IF;
            RETURN NEW;
        END""",
    "refuse_rows_of_sealed_periods": """
        DECLARE
            period record;
        BEGIN
            FOR period IN SELECT id, sealed_at FROM voting_periods
                          WHERE id IN (SELECT DISTINCT voting_period_id FROM new_rows) FOR SHARE LOOP
                IF period.sealed_at IS NOT NULL THEN
                    RAISE EXCEPTION '%: voting period % is sealed: INSERT refused', TG_TABLE_NAME, period.id;
                END IF;
            END LOOP;
            RETURN NULL;
        END""",
    "guard_load_batch": """
        DECLARE
            sealed timestamptz;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'load batch % is kept: DELETE refused', OLD.id;
            END IF;
            SELECT sealed_at INTO sealed FROM voting_periods WHERE id = NEW.voting_period_id FOR SHARE;
            IF sealed IS NOT NULL THEN
                RAISE EXCEPTION 'voting period % is sealed: load batches cannot be added, changed or voided',
                    NEW.voting_period_id;
            END IF;
            IF TG_OP = 'UPDATE' THEN
                IF OLD.voided_at IS NOT NULL THEN
                    RAISE EXCEPTION 'load batch % is voided: a void is final', OLD.id;
                END IF;
                IF (NEW.id, NEW.election_id, NEW.voting_period_id) IS DISTINCT FROM
                   (OLD.id, OLD.election_id, OLD.voting_period_id) THEN
                    RAISE EXCEPTION 'load batch % cannot move to another period', OLD.id;
                END IF;
            END IF;
            RETURN NEW;
        END""",
    "guard_tally_run": """
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
            ELSIF NOT (OLD.status, NEW.status) IN (
                ('PENDING', 'PENDING'), ('PENDING', 'RUNNING'), ('PENDING', 'FAILED'),
                ('RUNNING', 'RUNNING'), ('RUNNING', 'COMPLETED'), ('RUNNING', 'FAILED')) THEN
                RAISE EXCEPTION 'tally run % cannot move from % to %', OLD.id, OLD.status, NEW.status;
            END IF;
            RETURN NEW;
        END""",
    "refuse_results_of_runs_not_running": """
        DECLARE
            run record;
        BEGIN
            FOR run IN SELECT id, status FROM tally_runs
                       WHERE id IN (SELECT DISTINCT run_id FROM new_rows) FOR SHARE LOOP
                IF run.status <> 'RUNNING' THEN
                    RAISE EXCEPTION '%: tally run % is %: results are written only while it runs',
                        TG_TABLE_NAME, run.id, run.status;
                END IF;
            END LOOP;
            RETURN NULL;
        END""",
    "guard_published_result": """
        BEGIN
            IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'winner_assignments'
               AND (SELECT status FROM tally_runs WHERE id = OLD.run_id FOR SHARE) = 'ROLLED_BACK' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION '% is published: % refused', TG_TABLE_NAME, TG_OP;
        END""",
}

TRIGGERS = [
    ("voting_periods_sealed", "voting_periods", "BEFORE UPDATE OR DELETE", "FOR EACH ROW", "guard_voting_period"),
    ("load_batches_sealed", "load_batches", "BEFORE INSERT OR UPDATE OR DELETE", "FOR EACH ROW", "guard_load_batch"),
    ("tally_runs_forwards", "tally_runs", "BEFORE INSERT OR UPDATE OR DELETE", "FOR EACH ROW", "guard_tally_run"),
    *[(f"{table}_sealed", table, "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
       "refuse_rows_of_sealed_periods") for table in ("ballots", "area_ballot_counts")],
    *[(f"{table}_while_running", table, "AFTER INSERT", "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
       "refuse_results_of_runs_not_running")
      for table in ("certified_results", "certified_candidate_results", "winner_assignments")],
    *[(f"{table}_published", table, "BEFORE UPDATE OR DELETE", "FOR EACH ROW", "guard_published_result")
      for table in ("certified_results", "certified_candidate_results", "winner_assignments")],
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for name, table, when, each, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} {when} ON {table} {each} EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, *_ in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON {table}")
    for name in FUNCTIONS:
        op.execute(f"DROP FUNCTION {name}()")
