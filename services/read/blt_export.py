"""A ranked contest's counted ballots as a BLT file (`tally export ELECTION --format blt --contest C`), so that
OpenSTV, OpaVote or any BLT reader, `tally count FILE.blt --method M` among them, can count them again.

The ballots are those the period's completed tally counted (voided batches left out) that its validation judged
valid, each with its counted weight (weight x its area's weight), identical rankings summed into one line. Blank
and invalid ballots are not written (BLT has no place for them), only counted in the file's first comment."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from counting.blt import write_blt
from counting.methods import METHODS
from counting.vocabulary import MarkKind
from models import entities as m
from models.marks import Decoder, stored_ballot
from services.contests import engine_contest
from services.elections import find_election
from services.errors import NotFound, ServiceError
from services.lifecycle import batches
from services.public_format import classification
from services.read.exports import published_runs


def blt_file(session: Session, ref: str | int, contest_key: str, period_name: str | None = None) -> str:
    election = find_election(session, ref)
    runs = {r.voting_period_id: r for r in published_runs(session, election)}
    periods = [p for p in election.periods if p.id in runs]
    if period_name is not None:
        periods = [p for p in periods if p.name == period_name]
        if not periods:
            raise NotFound(f"period {period_name!r}: no completed tally of it in election {election.key!r}")
    elif len(periods) > 1:
        names = ", ".join(repr(p.name) for p in periods)
        raise ServiceError(f"--period: election {election.key!r} has completed tallies of {names}: name one")
    period = periods[0]
    row = next((c for c in election.contests if c.key == contest_key), None)
    if row is None:
        raise NotFound(f"--contest: election {election.key!r} has no contest {contest_key!r}")
    mark_kind = METHODS[row.method].mark_kind
    if mark_kind != MarkKind.RANK:
        raise ServiceError(f"--contest: {contest_key!r} is counted by {row.method}, whose ballots are not rankings")
    contest = engine_contest(row)
    decoder = Decoder([c.key for c in row.candidates], mark_kind)
    kept, left_out = [], {}
    for marks, explicit, defect, raw, counted in _contents(session, period, row):
        ballot = stored_ballot(decoder, marks, 1, explicit, defect, raw)
        kind, _ = classification(contest, ballot)
        if kind == "valid":
            kept.append((ballot.marks, counted))
        else:
            left_out[kind] = left_out.get(kind, 0) + counted
    comment = (f"election {election.key}, period {period.name}, contest {row.key} ({row.method}): "
               f"{sum(w for _, w in kept)} valid ballots" + "".join(f", {w} {k} left out" for k, w in sorted(left_out.items())))
    return write_blt(row.name or row.key, row.seats, contest.candidates, kept, comment=comment)


def _contents(session: Session, period: m.VotingPeriod, contest: m.Contest):
    """Each distinct stored content of the contest's counted ballots with its counted weight, in a stable order
    (the marks' bytes): the same ballots give the same file."""
    b, a = m.Ballot, m.Area
    voided = [v.id for v in batches.voided(session, period.id)]
    query = (
        select(b.marks, b.explicit_invalid, b.defect, b.raw, func.sum(b.weight * a.weight))
        .join(a, a.id == b.area_id)
        .where(b.voting_period_id == period.id, b.contest_id == contest.id)
        .group_by(b.marks, b.explicit_invalid, b.defect, b.raw)
        .order_by(b.marks, b.explicit_invalid, b.defect, b.raw)
    )
    if voided:
        query = query.where(or_(b.batch_id.is_(None), b.batch_id.not_in(voided)))
    return session.execute(query)
