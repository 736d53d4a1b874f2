"""The ballots' hash chain: each stored ballot as its public entry (ballots.json), hashed, and a
period's chain over its ballots in stored order (services.loading.ballots), which the loader extends, the seal and finalize
record, and the exports publish (docs/verify-spec.md)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import counting
from counting.methods import METHODS
from models import entities as m
from models.marks import Decoder, stored_ballot
from services.contests import engine_contest
from services.public_format import GENESIS, canonical_json, classification, link, sha256

_FETCH = 10_000
_CACHE_LIMIT = 200_000


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


def ballot_rows(session: Session, period_ids: list[int]):
    """The periods' ballots in stored order, streamed (Core rows: the ORM layer would double the cost)."""
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
    for row in ballot_rows(session, [period_id]):
        chain = link(chain, entries.hashed(row)[1])
        count += 1
    return count, chain


def period_chain_state(session: Session, period: m.VotingPeriod) -> tuple[int, str]:
    """(ballots, chain head) of a period as the loader keeps them; for ballots loaded before
    migration 0004 kept the chain, computed from the rows once."""
    if period.ballots_chain_head is None and period.ballots_count:
        period.ballots_count, period.ballots_chain_head = period_chain(session, period.id)
    return period.ballots_count, period.ballots_chain_head or GENESIS
