"""The audit log: append-only, hash-chained per election, so any edit, removal or reordering shows."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.entities import AuditEvent, Election

from services.public_format import GENESIS, event_hash

def append(
    session: Session,
    election_id: int,
    kind: str,
    payload: dict,
    run_id: int | None = None,
) -> AuditEvent:
    """Append one event. The election row is locked so that concurrent writers chain in order."""
    session.execute(select(Election.id).where(Election.id == election_id).with_for_update())
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.election_id == election_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    created_at = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    event = AuditEvent(
        election_id=election_id,
        seq=seq,
        run_id=run_id,
        kind=kind,
        payload=payload,
        created_at=created_at,
        prev_hash=prev,
        hash=event_hash(prev, seq, kind, run_id, created_at, payload),
    )
    session.add(event)
    session.flush()
    return event


def event_json(event: AuditEvent) -> dict:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "run_id": event.run_id,
        "created_at": event.created_at,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
