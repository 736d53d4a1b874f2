"""Sealing: a voting period's ballots are sealed before it is tallied, and never reopened.

"at-close" periods (ballots arrive while voting is open) are sealed when they close; "manual"
periods (ballots imported after the polls close; the default for a period whose end has already
passed when its definition is loaded) are sealed by `tally seal` or `POST .../seal` (commands.SealPeriod). The seal
event records the ballots, the chain head and the definition hash. Only a sealed period with
ballots is tallied by beat; loads into a sealed period are refused, naming its state."""

from __future__ import annotations

from sqlalchemy.orm import Session

from models import entities as m

from services import audit, definition

from services.lifecycle import batches, periods
from services.errors import ServiceError
from services.ballot_chain import period_chain_state
from services.public_format import EXTENDED, SEALED

ALREADY_SEALED = "Voting period is already sealed"
STILL_OPEN = "Voting period is OPEN until its end; it can be sealed once voting has ended"


class DefinitionChanged(ServiceError):
    pass


def check_definition(session: Session, election: m.Election) -> str:
    """The definition's hash now; refused if it differs from the one recorded at the first load."""
    current = definition.current_hash(session, election.id)
    if election.definition_hash is not None and election.definition_hash != current:
        raise DefinitionChanged(
            f"the election's definition changed since its first ballots were loaded "
            f"(definition hash {current}, recorded {election.definition_hash})"
        )
    return current


def record_extension(session: Session, election: m.Election) -> str:
    """A definition extended on purpose after ballots were loaded (a CVR import adding the precincts
    it found): the new hash, recorded with the one it replaces in an audit event."""
    current = definition.current_hash(session, election.id)
    audit.append(session, election.id, EXTENDED, {"from": election.definition_hash, "to": current})
    election.definition_hash = current
    return current


def state(session: Session, period: m.VotingPeriod) -> str:
    """The period as an operator reads it: open, closed (awaiting its seal), sealed, being
    tallied, tallied, or rolled back."""
    if period.sealed_at is None:
        return "open" if period.status == m.PeriodStatus.OPEN else "closed"
    run = periods.latest_run(session, period.id)
    if run is None or run.status == m.RunStatus.FAILED:
        return "sealed"
    return {
        m.RunStatus.COMPLETED: "tallied",
        m.RunStatus.ROLLED_BACK: "rolled back",
    }.get(run.status, "being tallied")


def loadable(session: Session, period: m.VotingPeriod) -> str | None:
    """None when ballots may be loaded into the period, else its state: a period takes ballots
    while open, or once closed while it waits for a manual seal."""
    if period.sealed_at is None and (period.status == m.PeriodStatus.OPEN or period.seal_mode == m.SEAL_MANUAL):
        return None
    return state(session, period)


def seal_period(session: Session, period: m.VotingPeriod, reason: str) -> dict:
    """Seal a CLOSED period's ballots: the audit event pins their count, chain head and definition."""
    election = session.get(m.Election, period.election_id)
    definition_hash = check_definition(session, election)
    count, head = period_chain_state(session, period)
    period.sealed_at = periods.now()
    period.sealed_definition_hash = definition_hash
    payload = {
        "voting_period_id": period.id,
        "period": period.name,
        "seal": period.seal_mode,
        "reason": reason,
        "ballots": count,
        "counted": batches.counted_ballots(session, period),
        "voided_batches": [b.id for b in batches.voided(session, period.id)],
        "ballots_chain_head": head,
        "definition_hash": definition_hash,
        "sealed_at": periods.iso(period.sealed_at),
    }
    audit.append(session, period.election_id, SEALED, payload)
    return payload


def close(session: Session, period: m.VotingPeriod, reason: str) -> None:
    """Close an OPEN period; an at-close period is sealed with it."""
    periods.close_period(session, period, reason)
    if period.seal_mode == m.SEAL_AT_CLOSE:
        seal_period(session, period, "voting closed")


