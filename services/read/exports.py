"""The public exports: ballots.json, audit.json and results.json (the ballot hash chain they carry:
services.ballot_chain).

Every export is canonical JSON (services.public_format.canonical_json) built only from committed data of
COMPLETED runs, with no generation timestamp: the same database state gives the same bytes.

ballots.json lists every counted ballot of the periods whose run is COMPLETED, in stored order
(period, then ballot id): load batch by load batch, and within a batch by contest and area, then by
entry hash (services.loading.ballots), so nothing of the order they were cast in. Each entry carries `hash = sha256(canonical_json(entry))` and
`chain = sha256(previous chain + hash)` (the first links to 64 zeros). The 'tally completed' audit
event of a run records the chain head of its period's ballots (a chain over that period alone),
so editing, dropping or reordering a published ballot shows against the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import entities as m

from services import audit, definition
from services.public_format import AUDIT_FORMAT, BALLOTS_FORMAT, GENESIS, canonical_json, link
from services.ballot_chain import BallotEntries, ballot_rows
from services.errors import NotFound
from services.elections import find_election
from services.read.results import completed_runs, published

NOT_PUBLISHED = "No completed tally for this election: nothing is published yet"


def contest_definition(row: m.Contest) -> dict:
    """A stored contest in the interchange format (docs/interchange.md), plus its area keys."""
    return {
        "id": row.key,
        "name": row.name,
        "method": row.method,
        "seats": row.seats,
        "min_votes": row.min_votes,
        "max_votes": row.max_votes,
        "blank_policy": row.blank_policy,
        "candidates": [
            {
                "id": c.key,
                "name": c.name,
                "tie_break_key": c.tie_break_key,
                "category": c.category,
                "gender": c.gender,
                "undeclared_write_in": c.undeclared_write_in,
            }
            for c in row.candidates
        ],
        "exclusion_groups": [
            {"name": g.name, "members": list(g.members), "max_elected": g.max_elected} for g in row.exclusion_groups
        ],
        "options": dict(row.options or {}),
        "annotations": dict(row.annotations or {}),
        "areas": [s.area.key for s in row.ballot_styles],
    }


def published_runs(session: Session, election: m.Election) -> list[m.TallyRun]:
    runs = completed_runs(session, election.id)
    if not runs:
        raise NotFound(NOT_PUBLISHED)
    return runs


def ballots_chunks(session: Session, ref: str | int) -> Iterator[str]:
    """ballots.json as a stream of text pieces; joined, they are exactly `canonical_json` of the
    document (keys in sorted order, so `ballots` is written before `chain_head`)."""
    election = find_election(session, ref)
    runs = published_runs(session, election)
    entries = BallotEntries(session, election)
    period_ids = [r.voting_period_id for r in runs]
    counts: dict[int, int] = {pid: 0 for pid in period_ids}
    b = m.Ballot
    for pid, n in session.execute(
        select(b.voting_period_id, func.count()).where(b.voting_period_id.in_(period_ids)).group_by(b.voting_period_id)
    ):
        counts[pid] = int(n)
    head = {
        "areas": [
            {"id": a.key, "name": a.name, "parent": a.parent.key if a.parent else None, "census": a.census, "weight": a.weight}
            for a in election.areas
        ],
    }
    tail = {
        "contests": [contest_definition(c) for c in election.contests],
        "election": {"id": election.id, "key": election.key, "name": election.name},
        "format": BALLOTS_FORMAT,
        "hashing": (
            "hash = sha256(canonical JSON of the entry without hash and chain); chain = sha256(previous chain + hash), "
            "the first chain from 64 zeros; counted weight = weight x area weight"
        ),
        "periods": [
            {"id": r.voting_period_id, "name": entries.periods[r.voting_period_id], "tally_run_id": r.id,
             "ballots": counts[r.voting_period_id]}
            for r in runs
        ],
    }
    yield canonical_json(head)[:-1] + ',"ballots":['
    chain = GENESIS
    first = True
    for row in ballot_rows(session, period_ids):
        entry, digest = entries.hashed(row)
        chain = link(chain, digest)
        piece = canonical_json({**entry, "hash": digest, "chain": chain})
        yield piece if first else "," + piece
        first = False
    yield "]," + canonical_json({"chain_head": chain})[1:-1] + "," + canonical_json(tail)[1:]


def ballots_document(session: Session, ref: str | int) -> str:
    return "".join(ballots_chunks(session, ref))


def audit_document(session: Session, ref: str | int) -> str:
    """audit.json: each contest's method and parameters, and every audit event in seq order."""
    election = find_election(session, ref)
    ever = session.scalar(
        select(m.TallyRun.id).where(
            m.TallyRun.election_id == election.id,
            m.TallyRun.status.in_((m.RunStatus.COMPLETED, m.RunStatus.ROLLED_BACK)),
        ).limit(1)
    )
    if ever is None:
        raise NotFound(NOT_PUBLISHED)
    events = session.scalars(
        select(m.AuditEvent).where(m.AuditEvent.election_id == election.id).order_by(m.AuditEvent.seq)
    ).all()
    doc: dict[str, Any] = {
        "format": AUDIT_FORMAT,
        "election": {"id": election.id, "key": election.key, "name": election.name},
        "contests": [contest_definition(c) for c in election.contests],
        "definition": definition.document(session, election.id),
        "events": [audit.event_json(e) for e in events],
        "head": events[-1].hash if events else GENESIS,
        "hashing": (
            "hash = sha256(prev_hash + canonical JSON of {seq, kind, run_id, created_at, payload}); "
            "the first prev_hash is 64 zeros; definition_hash = sha256(canonical JSON of definition); "
            "docs/verify-spec.md"
        ),
    }
    return canonical_json(doc)


def results_document(session: Session, ref: str | int) -> str:
    election = find_election(session, ref)
    published_runs(session, election)
    return canonical_json(published(session, election.id))


def nist_err_document(session: Session, ref: str | int) -> str:
    """The published results as a NIST SP 1500-100 v2 ElectionReport (cvr.nist_err), canonical
    JSON: generated at the latest completed tally, so the same results give the same bytes."""
    from cvr.nist_err import Area, ContestInfo, election_report

    election = find_election(session, ref)
    runs = published_runs(session, election)
    parents = {a.id: a.key for a in election.areas}
    areas = [Area(a.key, a.name, parents.get(a.parent_id)) for a in election.areas]
    contests = [
        ContestInfo(
            key=c.key, name=c.name, method=c.method, seats=c.seats,
            votes_allowed=c.max_votes or len(c.candidates),
            candidates=[(cand.key, cand.name, cand.undeclared_write_in) for cand in c.candidates],
        )
        for c in election.contests
    ]
    starts = [p.starts_at or p.ends_at for p in election.periods]
    ends = [p.closed_at or p.ends_at for p in election.periods]
    generated = max(m.aware(r.completed_at) for r in runs if r.completed_at)
    doc = election_report(
        election.key, election.name, generated.isoformat(timespec="seconds"), min(starts).date().isoformat(),
        max(ends).date().isoformat(), areas, contests, published(session, election.id),
    )
    return canonical_json(doc)


