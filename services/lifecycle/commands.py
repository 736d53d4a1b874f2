"""The actions the API, the CLI and beat share, one command object each: request a tally, seal a
period, void a batch, roll a tally back. `validate(session)` makes every check and changes nothing
(it raises ServiceError with the message the API and the CLI show, shared/design/api.md's words);
`run(session)` validates, then acts, in the caller's transaction. Every caller builds the same
command, so a rule holds for all of them or none."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import entities as m
from services import audit
from services.errors import ServiceError
from services.lifecycle import batches, dispatch, sealing
from services.lifecycle.periods import close_period, latest_run, live_run, locate, now, refresh_election_status
from services.lifecycle.runs import EMPTY, IN_PROGRESS, NOT_CLOSED, NOT_SEALED, RolledBack, transition
from services.public_format import VOIDED


@dataclass(frozen=True)
class RequestTally:
    """A PENDING run and its dispatch (sent after commit); an existing COMPLETED run is returned as is
    (idempotent). The period row lock serialises concurrent callers; the partial unique index makes a
    second live run impossible even so. Only a sealed period is tallied (`force` closes and seals it
    first, recorded like any seal), and one without ballots only when `allow_empty` says so."""

    election_id: int
    period_id: int
    force: bool = False
    remarks: str | None = None
    by: str | None = None
    trigger: str = "api"
    allow_empty: bool = False

    def validate(self, session: Session) -> tuple[m.VotingPeriod, m.TallyRun | None]:
        """The period (locked) and its COMPLETED run if it has one, or ServiceError."""
        period = locate(session, self.election_id, self.period_id, lock=True)
        existing = live_run(session, period.id)
        if existing is not None:
            if existing.status == m.RunStatus.COMPLETED:
                return period, existing
            raise ServiceError(IN_PROGRESS)
        if period.status != m.PeriodStatus.CLOSED and not self.force:
            raise ServiceError(NOT_CLOSED)
        if period.sealed_at is None and not self.force:
            raise ServiceError(NOT_SEALED)
        if not self.allow_empty and batches.counted_ballots(session, period) == 0:  # sealing adds none
            raise ServiceError(EMPTY)
        return period, None

    def run(self, session: Session) -> tuple[m.TallyRun, bool]:
        """(the run, whether it was created now)."""
        period, existing = self.validate(session)
        if existing is not None:
            return existing, False
        forced = f"forced by tally request ({self.by or self.trigger})"
        if period.status != m.PeriodStatus.CLOSED:
            sealing.close(session, period, forced)
        if period.sealed_at is None:  # a manual period: force seals it too
            sealing.seal_period(session, period, forced)
        run = m.TallyRun(
            election_id=self.election_id, voting_period_id=period.id, remarks=self.remarks, started_by=self.by,
            trigger=self.trigger, allow_empty=self.allow_empty,
        )
        session.add(run)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError:
            raise ServiceError(IN_PROGRESS) from None
        audit.append(
            session, self.election_id, "tally requested",
            {"voting_period_id": period.id, "trigger": self.trigger, **({"allow_empty": True} if self.allow_empty else {})},
            run_id=run.id,
        )
        dispatch.enqueue(session, run.id, "requested")
        return run, True


@dataclass(frozen=True)
class SealPeriod:
    """`tally seal` / `POST .../seal`: close the period, then seal it. An at-close period is refused
    before its end (`tally run --force` closes one early); a manual one, whose ballots are imported,
    is sealed whenever the operator says so."""

    election_id: int
    period_id: int
    by: str | None = None

    def validate(self, session: Session) -> m.VotingPeriod:
        period = locate(session, self.election_id, self.period_id, lock=True)
        if period.sealed_at is not None:
            raise ServiceError(sealing.ALREADY_SEALED)
        voting = m.aware(period.ends_at) > now() and period.seal_mode == m.SEAL_AT_CLOSE
        if period.status == m.PeriodStatus.OPEN and voting:  # voters may still cast ballots
            raise ServiceError(sealing.STILL_OPEN)
        return period

    def run(self, session: Session) -> dict:
        """The seal's audit payload."""
        period = self.validate(session)
        reason = f"sealed by {self.by or 'an operator'}"
        if period.status == m.PeriodStatus.OPEN:
            close_period(session, period, reason)
        return sealing.seal_period(session, period, reason)


@dataclass(frozen=True)
class VoidBatch:
    """Void a batch of a period not yet sealed: an appended audit event and `voided_at`, never a
    delete; its ballots stay stored and published, and are not counted."""

    batch_id: int
    reason: str
    by: str | None = None

    def validate(self, session: Session) -> tuple[m.LoadBatch, m.VotingPeriod]:
        batch = session.get(m.LoadBatch, self.batch_id)
        if batch is None:
            raise ServiceError(f"No load batch {self.batch_id}")
        period = locate(session, batch.election_id, batch.voting_period_id, lock=True)
        session.refresh(batch)
        if period.sealed_at is not None:
            raise ServiceError(f"Batch {self.batch_id} cannot be voided: voting period {period.name!r} is sealed")
        if batch.voided_at is not None:
            raise ServiceError(f"Batch {self.batch_id} is already voided")
        if not self.reason or not self.reason.strip():
            raise ServiceError("reason: is required")
        return batch, period

    def run(self, session: Session) -> m.LoadBatch:
        batch, period = self.validate(session)
        batch.voided_at = now()
        batch.void_reason = self.reason
        audit.append(
            session,
            batch.election_id,
            VOIDED,
            {"batch_id": batch.id, "voting_period_id": period.id, "period": period.name, "records": batch.records,
             "weight": batch.weight, "reason": self.reason, "by": self.by},
        )
        return batch


@dataclass(frozen=True)
class RollBack:
    """Remove the winner assignments of the period's COMPLETED run and mark it ROLLED_BACK; its
    results and the audit history stay."""

    election_id: int
    period_id: int
    reason: str | None
    by: str | None = None

    def validate(self, session: Session) -> tuple[m.VotingPeriod, m.TallyRun]:
        period = locate(session, self.election_id, self.period_id, lock=True)
        run = latest_run(session, period.id)
        if run is None:
            raise ServiceError("No tally found for this election and voting period")
        if run.status != m.RunStatus.COMPLETED:
            raise ServiceError("Can only rollback COMPLETED tallies")
        return period, run

    def run(self, session: Session) -> RolledBack:
        period, run = self.validate(session)
        if not transition(
            session, run, (m.RunStatus.COMPLETED,), m.RunStatus.ROLLED_BACK, rolled_back_at=now(),
            rollback_reason=self.reason,
        ):
            raise ServiceError("Can only rollback COMPLETED tallies")
        removed = session.execute(delete(m.WinnerAssignment).where(m.WinnerAssignment.run_id == run.id)).rowcount
        refresh_election_status(session, self.election_id)
        audit.append(
            session,
            self.election_id,
            "tally rolled back",
            {"voting_period_id": period.id, "reason": self.reason, "winners_removed": removed, "by": self.by},
            run_id=run.id,
        )
        return RolledBack(run_id=run.id, status=run.status.value, winners_removed=removed,
                          rolled_back_at=run.rolled_back_at)
