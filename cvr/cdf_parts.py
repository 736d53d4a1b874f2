"""What both forms of a CDF file (cdf_json, cdf_xml) read into, and cvr.cdf makes ballots of.

Each form's `read(source)` yields, in file order, `(RECORD, (contests, unit))` for each record and
`(DEFINITIONS, (contests, units, parents))` once the definitions are complete (`units`: reporting
unit id -> name; `parents`: a split's id -> its precinct's id). A record's `contests` pairs
each contest id with its positions, each a plain tuple `(selection id, rank, indicated, write-in
text)` (the write-in text is "" for a write-in without text, None for no write-in): tuples, so that
equal records are equal values that records read before the definitions can be spooled as
(cvr.spool)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFINITIONS, RECORD = "definitions", "record"

Position = tuple[Any, Any, bool, Any]  # (selection id, rank, indicated and allocable, write-in text)
Contests = tuple[tuple[str, tuple[Position, ...]], ...]  # (contest id, its positions) per contest


@dataclass
class CdfContest:
    id: str
    name: str
    selections: dict[str, tuple[str, bool]] = field(default_factory=dict)  # id -> (candidate name, write-in)
    candidate_of: dict[str, str] = field(default_factory=dict)  # selection id -> candidate id (the first listed)
    vote_variation: str | None = None  # e.g. "rcv", "approval", "plurality", "n-of-m"
    seats: int | None = None  # NumberElected
    votes_allowed: int | None = None  # VotesAllowed
