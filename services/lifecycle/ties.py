"""Ties an official decides (counting.official): a run whose count meets one waits, naming it; `tally tie
decide` / `POST .../tie-decisions` records the decision as an audit event and the run goes on.

A decision belongs to the period and the contest: every later count of the period (the run going on, a
re-tally after a rollback, `tally verify` from audit.json) replays the period's decisions, in the order they
were recorded, so the same ballots always give the same result."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from counting.official import TieNeedsDecision
from models import entities as m
from services import audit
from services.errors import ServiceError
from services.lifecycle import dispatch
from services.lifecycle.periods import live_run, locate
from services.lifecycle.runs import lock_run, transition
from services.public_format import TIE_DECIDED, TIE_WAITING, decision_of

NOT_WAITING = "No tally of this voting period is waiting for a tie decision"


def decisions_for(session: Session, election_id: int, period_id: int, contest_key: str) -> list[dict]:
    """The recorded decisions of the period's ties in this contest, in the order they were recorded."""
    payloads = session.scalars(
        select(m.AuditEvent.payload)
        .where(m.AuditEvent.election_id == election_id, m.AuditEvent.kind == TIE_DECIDED)
        .order_by(m.AuditEvent.seq)
    )
    return [decision_of(p) for p in payloads if p["voting_period_id"] == period_id and p["contest"] == contest_key]


def wait(session: Session, run_id: int, contest_key: str, tie: TieNeedsDecision) -> bool:
    """Leave the RUNNING run WAITING for the decision of `tie` (what it has staged is kept for when it goes
    on); False when the run had already moved on."""
    run = lock_run(session, run_id)
    waiting_for = {"contest": contest_key, **tie.to_json()}
    if run is None or not transition(session, run, (m.RunStatus.RUNNING,), m.RunStatus.WAITING, waiting_for=waiting_for):
        return False
    audit.append(session, run.election_id, TIE_WAITING,
                 {"voting_period_id": run.voting_period_id, **waiting_for}, run_id=run.id)
    return True


@dataclass(frozen=True)
class DecideTie:
    """Record an official's decision of the tie the period's run waits for, and let the run go on."""

    election_id: int
    period_id: int
    contest: str
    round: int | None
    chosen: tuple[str, ...]
    reason: str
    by: str | None = None

    def validate(self, session: Session) -> tuple[m.VotingPeriod, m.TallyRun, dict]:
        period = locate(session, self.election_id, self.period_id, lock=True)
        run = live_run(session, period.id)
        if run is None or run.status != m.RunStatus.WAITING:
            raise ServiceError(NOT_WAITING, 409)
        tie = dict(run.waiting_for or {})
        if self.contest != tie.get("contest"):
            raise ServiceError(f"contest: the run waits for a tie in contest {tie.get('contest')!r}, not {self.contest!r}")
        if self.round != tie.get("round"):
            want = "the cut-off (no round)" if tie.get("round") is None else f"round {tie['round']}"
            raise ServiceError(f"round: the tie the run waits for is at {want}")
        tied = tie["candidates"]
        wrong = [c for c in self.chosen if c not in tied]
        if wrong or len(set(self.chosen)) != len(self.chosen):
            raise ServiceError(f"choose: {', '.join(wrong) or 'a candidate twice'}: choose among the tied "
                               f"candidates, {', '.join(tied)}")
        if len(self.chosen) != tie["choose"]:
            raise ServiceError(f"choose: the tie needs {tie['choose']} candidate(s) chosen, got {len(self.chosen)}")
        if not self.reason or not self.reason.strip():
            raise ServiceError("reason: is required (how the tie was decided: the lot drawn, the rule applied)")
        return period, run, tie

    def run(self, session: Session) -> m.TallyRun:
        period, run, tie = self.validate(session)
        decision = {"round": tie["round"], "purpose": tie["purpose"], "candidates": tie["candidates"],
                    "chosen": list(self.chosen), **({"pass": tie["pass"]} if tie.get("pass") else {})}
        audit.append(session, self.election_id, TIE_DECIDED,
                     {"voting_period_id": period.id, "contest": self.contest, **decision, "reason": self.reason,
                      "by": self.by}, run_id=run.id)
        if not transition(session, run, (m.RunStatus.WAITING,), m.RunStatus.PENDING, waiting_for=None):
            raise ServiceError(NOT_WAITING, 409)
        dispatch.enqueue(session, run.id, "tie decided")
        return run
