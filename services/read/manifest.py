"""manifest.json: what one published version of an election's public files is, for a signature to
cover (services.signing): each file's name, size and SHA-256, the audit log's head, and per
completed run its period and that period's ballot chain head as its tally recorded it. Canonical
JSON from committed data only, so the same version gives the same bytes and the same signature."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m

from services.elections import find_election
from services.public_format import GENESIS, MANIFEST_FORMAT, canonical_json
from services.read.exports import published_runs


def manifest_document(session: Session, ref: str | int, files: list[dict], key_id: str | None) -> str:
    """`files`: each {name, bytes, sha256}; `key_id`: the signing key's (services.signing.key_id),
    None when the version is not signed."""
    election = find_election(session, ref)
    runs = published_runs(session, election)
    head = session.scalar(
        select(m.AuditEvent.hash).where(m.AuditEvent.election_id == election.id).order_by(m.AuditEvent.seq.desc()).limit(1)
    )
    return canonical_json({
        "format": MANIFEST_FORMAT,
        "election": {"id": election.id, "key": election.key, "name": election.name},
        "files": [{"name": f["name"], "bytes": f["bytes"], "sha256": f["sha256"]} for f in files],
        "audit_head": head or GENESIS,
        "runs": [{"id": r.id, "period": r.voting_period_id, "ballots_chain_head": r.ballots_chain_head} for r in runs],
        "key_id": key_id,
    })
