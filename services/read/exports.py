"""The public exports: ballots.json, audit.json and results.json, and the ballot hash chain.

Every export is canonical JSON (services.public_format.canonical_json) built only from committed data of
COMPLETED runs, with no generation timestamp: the same database state gives the same bytes.

ballots.json lists every counted ballot of the periods whose run is COMPLETED, in cast order
(period, then ballot id). Each entry carries `hash = sha256(canonical_json(entry))` and
`chain = sha256(previous chain + hash)` (the first links to 64 zeros). The 'tally completed' audit
event of a run records the chain head of its period's ballots (a chain over that period alone),
so editing, dropping or reordering a published ballot shows against the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import counting
from counting.methods import METHODS
from counting.result import ROUND_FIELDS
from models import entities as m
from models.marks import Decoder, stored_ballot

from services import audit, definition
from services.public_format import AUDIT_FORMAT, BALLOTS_FORMAT, GENESIS, canonical_json, classification, link, sha256
from services.contests import engine_contest
from services.errors import NotFound
from services.elections import find_election
from services.read.results import completed_runs, published

NOT_PUBLISHED = "No completed tally for this election: nothing is published yet"
_FETCH = 10_000
_CACHE_LIMIT = 200_000


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


@dataclass
class _ContestCodec:
    key: str
    contest: counting.Contest
    decoder: Decoder


class BallotEntries:
    """Turns stored ballot rows into export entries (without hash/chain), caching identical ones:
    distinct ballots are a small share of all, so most rows cost one dictionary lookup."""

    def __init__(self, session: Session, election: m.Election):
        self.periods = {p.id: p.name for p in election.periods}
        self.areas = {a.id: a.key for a in election.areas}
        self.contests = {}
        for row in election.contests:
            contest = engine_contest(row)
            decoder = Decoder([c.key for c in row.candidates], METHODS[contest.method].mark_kind)
            self.contests[row.id] = _ContestCodec(row.key, contest, decoder)
        self._cache: dict[tuple, tuple[dict, str]] = {}
        self._area_json = {a.id: '{"area":' + canonical_json(a.key) + "," for a in election.areas}

    def entry(self, period_id, contest_id, marks, weight, explicit, defect, raw) -> dict:
        """An export entry without its area (the area is added per row, see `hashed`)."""
        codec = self.contests[contest_id]
        ballot = stored_ballot(codec.decoder, marks, weight, explicit, defect, raw)
        kind, reason = classification(codec.contest, ballot)
        return {
            "period": self.periods[period_id],
            "contest": codec.key,
            "marks": [list(mark) for mark in ballot.marks],
            "weight": weight,
            "explicit_invalid": ballot.explicit_invalid,
            "defect": ballot.defect,
            "raw": raw,
            "classification": kind,
            "reason": reason,
        }

    def hashed(self, row) -> tuple[dict, str]:
        """(the entry, sha256 of its canonical JSON) for one stored row."""
        rest, rest_json = self._rest(row)
        return {"area": self.areas[row[2]], **rest}, sha256(self._area_json[row[2]] + rest_json)

    def area_json(self, area_id: int) -> str:
        """The start of the canonical JSON of an entry in this area (see `_rest`): an entry's hash, as
        `hashed` gives it, is that of `area_json` then `rest_json`."""
        return self._area_json[area_id]

    def rest_json(self, period_id: int, contest_id: int, content: tuple) -> str:
        """The rest of the canonical JSON of an entry of these marks, weight, explicit_invalid, defect, raw."""
        return self._rest((period_id, contest_id, None, *content))[1]

    def _rest(self, row) -> tuple[dict, str]:
        """The entry without its area, and its canonical JSON without the opening brace.

        Identical ballots of one contest share everything but their area, so the canonical JSON of
        the rest is made once and the area spliced in front: "area" sorts before every other key,
        so the text is exactly canonical_json(entry)."""
        period_id, contest_id, _area_id, *content = row
        key = (period_id, contest_id, *content)
        found = self._cache.get(key)
        if found is None:
            rest = self.entry(period_id, contest_id, *content)
            found = (rest, canonical_json(rest)[1:])
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = found
        return found


def _rows(session: Session, period_ids: list[int]):
    """The periods' ballots in cast order, streamed (Core rows: the ORM layer would double the cost)."""
    b = m.Ballot.__table__.c
    return session.connection().execute(
        select(b.voting_period_id, b.contest_id, b.area_id, b.marks, b.weight, b.explicit_invalid, b.defect, b.raw)
        .where(b.voting_period_id.in_(period_ids))
        .order_by(b.voting_period_id, b.id)
        .execution_options(yield_per=_FETCH)
    )


def period_chain(session: Session, period_id: int) -> tuple[int, str]:
    """(ballots, chain head) of one period's ballots, chained from 64 zeros: what a run's
    'tally completed' event records and what `tally verify` recomputes from ballots.json."""
    period = session.get(m.VotingPeriod, period_id)
    entries = BallotEntries(session, session.get(m.Election, period.election_id))
    chain, count = GENESIS, 0
    for row in _rows(session, [period_id]):
        chain = link(chain, entries.hashed(row)[1])
        count += 1
    return count, chain


def period_chain_state(session: Session, period: m.VotingPeriod) -> tuple[int, str]:
    """(ballots, chain head) of a period as the loader keeps them; for ballots loaded before
    migration 0004 kept the chain, computed from the rows once."""
    if period.ballots_chain_head is None and period.ballots_count:
        period.ballots_count, period.ballots_chain_head = period_chain(session, period.id)
    return period.ballots_count, period.ballots_chain_head or GENESIS


def completion_record(
    session: Session, run: m.TallyRun, contest_results: dict[str, dict], counted: int, expected: int
) -> dict:
    """What finalize adds to the 'tally completed' event: the period's ballot chain head and each
    contest's result (rounds are in the 'tally round' events), so the audit log alone says what
    was counted and what came out. Refuses when the tally did not read exactly the `expected`
    ballots: those loaded, less the voided batches' (services.lifecycle.batches.counted_ballots)."""
    count, head = period_chain_state(session, session.get(m.VotingPeriod, run.voting_period_id))
    if counted != expected:
        voided = f" and not voided ({count} in all)" if count != expected else ""
        raise RuntimeError(f"the tally read {counted} ballot(s) but {expected} were loaded into the period{voided}")
    run.ballots_chain_head = head
    return {
        "ballots_chain_head": head,
        "ballots_published": count,
        "results": {key: {k: v for k, v in r.items() if k not in ROUND_FIELDS} for key, r in contest_results.items()},
    }


def _completed(session: Session, election: m.Election) -> list[m.TallyRun]:
    runs = completed_runs(session, election.id)
    if not runs:
        raise NotFound(NOT_PUBLISHED)
    return runs


def ballots_chunks(session: Session, ref: str | int) -> Iterator[str]:
    """ballots.json as a stream of text pieces; joined, they are exactly `canonical_json` of the
    document (keys in sorted order, so `ballots` is written before `chain_head`)."""
    election = find_election(session, ref)
    runs = _completed(session, election)
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
    for row in _rows(session, period_ids):
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
    _completed(session, election)
    return canonical_json(published(session, election.id))


def nist_err_document(session: Session, ref: str | int) -> str:
    """The published results as a NIST SP 1500-100 v2 ElectionReport (cvr.nist_err), canonical
    JSON: generated at the latest completed tally, so the same results give the same bytes."""
    from cvr.nist_err import Area, ContestInfo, election_report

    election = find_election(session, ref)
    runs = _completed(session, election)
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


