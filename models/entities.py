"""The domain, as SQLAlchemy 2 typed mappings (see docs/architecture in shared design notes).

Election -> voting periods -> contests -> candidates; areas form a tree; ballot styles tie areas to
contests. Ballots belong to (period, contest, area). A tally run belongs to (election, period).
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JSONType = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(moment: datetime | None) -> datetime | None:
    """A stored moment with its zone: SQLite hands back naive datetimes, which were written in UTC."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    pass


class PeriodStatus(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


SEAL_AT_CLOSE, SEAL_MANUAL = "at-close", "manual"


class RunStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ROLLED_BACK = "ROLLED_BACK"
    WAITING = "WAITING"  # for an official's tie decision (`waiting_for` names the tie): counting.official


LIVE_RUN_STATUSES = ("PENDING", "RUNNING", "WAITING", "COMPLETED")


class ElectionStatus(enum.StrEnum):
    """Follows all the election's periods (services.lifecycle.periods.refresh_election_status). A StrEnum: its
    lower-case values are what the results and the export cache key show, and str() gives them."""

    OPEN = "open"
    CLOSED = "closed"
    TALLIED = "tallied"


class Election(Base):
    __tablename__ = "elections"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    # Stored as the values ("open"), as before the enum: values_callable, since Enum stores names.
    status: Mapped[ElectionStatus] = mapped_column(
        Enum(ElectionStatus, native_enum=False, length=20, values_callable=lambda e: [s.value for s in e]),
        default=ElectionStatus.OPEN,
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # services.definition: the hash of what counts, recorded when the first ballots are loaded.
    definition_hash: Mapped[Optional[str]] = mapped_column(String(64))

    periods: Mapped[list[VotingPeriod]] = relationship(back_populates="election", order_by="VotingPeriod.id")
    contests: Mapped[list[Contest]] = relationship(back_populates="election", order_by="Contest.position")
    areas: Mapped[list[Area]] = relationship(back_populates="election", order_by="Area.id")


class VotingPeriod(Base):
    __tablename__ = "voting_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[PeriodStatus] = mapped_column(
        Enum(PeriodStatus, native_enum=False, length=10), default=PeriodStatus.OPEN
    )
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    # The period's ballot hash chain (services.ballot_chain), extended by every load in cast order.
    ballots_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    ballots_chain_head: Mapped[Optional[str]] = mapped_column(String(64))
    # Sealing (services.lifecycle.sealing): "at-close" seals the ballots when voting closes; "manual" waits
    # for `tally seal` (ballots imported after the polls close). Only a sealed period is tallied.
    seal_mode: Mapped[str] = mapped_column(String(10), default=SEAL_AT_CLOSE, server_default=SEAL_AT_CLOSE)
    sealed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    sealed_definition_hash: Mapped[Optional[str]] = mapped_column(String(64))
    advance_error: Mapped[Optional[str]] = mapped_column(Text)  # why `advance` could not handle it, if so

    election: Mapped[Election] = relationship(back_populates="periods")


class Contest(Base):
    __tablename__ = "contests"
    __table_args__ = (UniqueConstraint("election_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String(50))
    seats: Mapped[int] = mapped_column(Integer, default=1)
    min_votes: Mapped[int] = mapped_column(Integer, default=0)
    max_votes: Mapped[Optional[int]] = mapped_column(Integer)
    blank_policy: Mapped[str] = mapped_column(String(20), default="allowed")
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    election: Mapped[Election] = relationship(back_populates="contests")
    candidates: Mapped[list[Candidate]] = relationship(back_populates="contest", order_by="Candidate.position")
    exclusion_groups: Mapped[list[ExclusionGroup]] = relationship(
        back_populates="contest", order_by="ExclusionGroup.id"
    )
    ballot_styles: Mapped[list[BallotStyle]] = relationship(back_populates="contest", order_by="BallotStyle.area_id")


class Candidate(Base):
    __tablename__ = "candidates"
    __table_args__ = (UniqueConstraint("contest_id", "key"), UniqueConstraint("contest_id", "position"))

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)  # the index used in encoded ballot marks
    name: Mapped[str] = mapped_column(String(500), default="")
    tie_break_key: Mapped[Optional[int]] = mapped_column(Integer)
    category: Mapped[Optional[str]] = mapped_column(String(200))
    gender: Mapped[Optional[str]] = mapped_column(String(50))
    undeclared_write_in: Mapped[bool] = mapped_column(Boolean, default=False)

    contest: Mapped[Contest] = relationship(back_populates="candidates")


class ExclusionGroup(Base):
    __tablename__ = "exclusion_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    members: Mapped[list[str]] = mapped_column(JSONType)  # candidate keys
    max_elected: Mapped[int] = mapped_column(Integer)

    contest: Mapped[Contest] = relationship(back_populates="exclusion_groups")


class Area(Base):
    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("election_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500), default="")
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    census: Mapped[int] = mapped_column(BigInteger, default=0)
    weight: Mapped[int] = mapped_column(Integer, default=1)

    election: Mapped[Election] = relationship(back_populates="areas")
    parent: Mapped[Optional[Area]] = relationship(remote_side="Area.id")


class BallotStyle(Base):
    """Ties an area to a contest; its annotations carry the area's `tally_operation`."""

    __tablename__ = "ballot_styles"
    __table_args__ = (UniqueConstraint("contest_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    area_annotations: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    contest: Mapped[Contest] = relationship(back_populates="ballot_styles")
    area: Mapped[Area] = relationship()


class Ballot(Base):
    """One cast ballot. `marks` is the compact encoding of models.marks; a record that cannot be
    encoded (unknown candidate, odd values) keeps its original JSON in `raw` so nothing is lost.
    Loaders insert ballots grouped by (contest, area) so one area is read in one sequential pass.
    The ids are checked by the loader against the election's ballot styles instead of by foreign
    keys on PostgreSQL (migration 0004 says why)."""

    __tablename__ = "ballots"
    __table_args__ = (Index("ix_ballots_period_contest_area", "voting_period_id", "contest_id", "area_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    voting_period_id: Mapped[int] = mapped_column(Integer)
    contest_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(Integer)
    marks: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    weight: Mapped[int] = mapped_column(Integer, default=1)
    explicit_invalid: Mapped[bool] = mapped_column(Boolean, default=False)
    defect: Mapped[Optional[str]] = mapped_column(String(50))  # the record could not be read: why
    raw: Mapped[Optional[str]] = mapped_column(Text)  # the original record, when marks could not be encoded
    batch_id: Mapped[Optional[int]] = mapped_column(Integer)  # the load (LoadBatch); none before migration 0006


class AreaBallotCount(Base):
    """How many ballot records one load (batch) stored in one (contest, area): written with the
    ballots, read by a tally's plan to size its area tasks (services.pipeline.plan), where counting
    the ballots themselves took a pass over every ballot before any area task could start. Sizes
    only: what is counted is what an area task reads from the ballots themselves."""

    __tablename__ = "area_ballot_counts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    voting_period_id: Mapped[int] = mapped_column(Integer, index=True)
    batch_id: Mapped[Optional[int]] = mapped_column(Integer)  # none for ballots loaded before migration 0008
    contest_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(BigInteger)


class LoadBatch(Base):
    """One load of ballots into a period, also recorded as a 'ballots loaded' audit event. Its
    ballots are positions [count_before, count_after) of the period's ballot chain. A void is an
    appended audit event plus voided_at here; nothing is ever deleted."""

    __tablename__ = "load_batches"
    __table_args__ = (Index("ix_load_batches_period_digest", "voting_period_id", "content_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"), index=True)
    voting_period_id: Mapped[int] = mapped_column(ForeignKey("voting_periods.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    source: Mapped[Optional[str]] = mapped_column(Text)  # e.g. the file's name
    file_sha256: Mapped[Optional[str]] = mapped_column(String(64))
    content_digest: Mapped[Optional[str]] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(BigInteger, default=0)
    weight: Mapped[int] = mapped_column(BigInteger, default=0)
    count_before: Mapped[int] = mapped_column(BigInteger, default=0)
    count_after: Mapped[int] = mapped_column(BigInteger, default=0)
    chain_before: Mapped[Optional[str]] = mapped_column(String(64))
    chain_after: Mapped[Optional[str]] = mapped_column(String(64))
    duplicate_of: Mapped[Optional[int]] = mapped_column(Integer)  # loaded anyway (--allow-duplicate)
    voided_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[Optional[str]] = mapped_column(Text)


class TallyRun(Base):
    __tablename__ = "tally_runs"
    __table_args__ = (
        # At most one live run per period: a second PENDING/RUNNING/WAITING/COMPLETED row cannot exist.
        Index(
            "uq_tally_runs_live",
            "election_id",
            "voting_period_id",
            unique=True,
            postgresql_where=text("status IN ('PENDING', 'RUNNING', 'WAITING', 'COMPLETED')"),
            sqlite_where=text("status IN ('PENDING', 'RUNNING', 'WAITING', 'COMPLETED')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"), index=True)
    voting_period_id: Mapped[int] = mapped_column(ForeignKey("voting_periods.id", ondelete="CASCADE"), index=True)
    status: Mapped[RunStatus] = mapped_column(Enum(RunStatus, native_enum=False, length=20), default=RunStatus.PENDING)
    remarks: Mapped[Optional[str]] = mapped_column(Text)
    trigger: Mapped[str] = mapped_column(String(20), default="schedule")  # schedule / api / cli
    started_by: Mapped[Optional[str]] = mapped_column(String(200))
    completed_by: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    dispatches: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[Optional[str]] = mapped_column(Text)
    areas_total: Mapped[int] = mapped_column(Integer, default=0)
    areas_done: Mapped[int] = mapped_column(Integer, default=0)
    ballots_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    positions_tallied: Mapped[Optional[int]] = mapped_column(Integer)
    winners_applied: Mapped[Optional[int]] = mapped_column(Integer)
    ties_detected: Mapped[Optional[int]] = mapped_column(Integer)
    ballots_chain_head: Mapped[Optional[str]] = mapped_column(String(64))
    allow_empty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    rolled_back_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    rollback_reason: Mapped[Optional[str]] = mapped_column(Text)
    waiting_for: Mapped[Optional[dict]] = mapped_column(JSON)  # WAITING: the tie, its contest, round and candidates


class Dispatch(Base):
    """The outbox of tally dispatches: committed in the same transaction as the run (or the
    reconciler's decision) that asks for it, and marked sent once the broker took `tally.start`.
    A row still unsent is sent by the next dispatcher pass (beat, `tally run`, `tally advance`)."""

    __tablename__ = "dispatches"
    __table_args__ = (
        Index("ix_dispatches_unsent", "id", postgresql_where=text("sent_at IS NULL"),
              sqlite_where=text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # requested / redispatched
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)


class LoadJob(Base):
    """A load the admin API runs after it has answered (an upload past TALLY_UPLOAD_SYNC_BYTES): the
    client polls it. `host` and `pid` name the API process running it, so that one that ended
    leaves a job that reads FAILED rather than RUNNING for ever (its load's transaction never
    committed, so nothing of it was loaded)."""

    __tablename__ = "load_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id", ondelete="CASCADE"), index=True)
    voting_period_id: Mapped[int] = mapped_column(ForeignKey("voting_periods.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # PENDING, RUNNING, DONE, FAILED
    requested_by: Mapped[Optional[str]] = mapped_column(Text)
    host: Mapped[str] = mapped_column(Text)
    pid: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
    result: Mapped[Optional[dict]] = mapped_column(JSONType)
    error: Mapped[Optional[str]] = mapped_column(Text)


class TaskLease(Base):
    """A tally task running now, renewed by its worker every TALLY_LEASE_RENEW seconds while it runs
    and removed when it ends (tasks.leases): a lease left to expire names a worker that died with the
    task, which the reconciler re-dispatches at once rather than after TALLY_STUCK_AFTER."""

    __tablename__ = "task_leases"

    task_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    task: Mapped[str] = mapped_column(String(100))
    worker: Mapped[str] = mapped_column(Text)
    renewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StagedAreaResult(Base):
    """An area task's partial result, keyed by (run, contest, area): a redelivered task overwrites
    its own row with the same content, so running it twice changes nothing."""

    __tablename__ = "staged_area_results"

    run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    operation: Mapped[str] = mapped_column(String(30))
    participation: Mapped[dict[str, Any]] = mapped_column(JSONType)
    result: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONType)  # the area's own result, if asked
    valid_ballots: Mapped[Optional[bytes]] = mapped_column(LargeBinary)  # compressed multiset, if pooled
    ballots_read: Mapped[int] = mapped_column(BigInteger, default=0)
    staged_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))


class StagedContestResult(Base):
    """A contest's aggregated results, waiting for finalize to publish them with all the others."""

    __tablename__ = "staged_contest_results"

    run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)


class ResultScope(enum.StrEnum):
    CONTEST = "contest"
    AREA = "area"
    SUBTREE = "subtree"


class CertifiedResult(Base):
    """A published result: the contest's, an area's own, or an area subtree's, in the engine's shape."""

    __tablename__ = "certified_results"
    __table_args__ = (UniqueConstraint("run_id", "contest_id", "scope", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), index=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    scope: Mapped[ResultScope] = mapped_column(Enum(ResultScope, native_enum=False, length=10))
    area_id: Mapped[Optional[int]] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    total_ballots: Mapped[int] = mapped_column(BigInteger, default=0)
    turnout_percent: Mapped[str] = mapped_column(String(20), default="0")
    notes: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)


class CertifiedCandidateResult(Base):
    __tablename__ = "certified_candidate_results"
    __table_args__ = (UniqueConstraint("run_id", "contest_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), index=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    vote_count: Mapped[str] = mapped_column(String(120))  # exact: integer or decimal string
    vote_share_percent: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int] = mapped_column(Integer)
    is_winner: Mapped[bool] = mapped_column(Boolean)


class WinnerAssignment(Base):
    """The authoritative outcome; removed by a rollback (results and audit history stay)."""

    __tablename__ = "winner_assignments"
    __table_args__ = (UniqueConstraint("run_id", "contest_id", "candidate_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("tally_runs.id", ondelete="CASCADE"), index=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    seat: Mapped[int] = mapped_column(Integer)


class AuditEvent(Base):
    """Append-only (a database trigger refuses UPDATE and DELETE) and hash-chained per election."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("election_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[Optional[int]] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[str] = mapped_column(String(40))  # ISO text, hashed as written
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(50))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(DateTime(timezone=True))
