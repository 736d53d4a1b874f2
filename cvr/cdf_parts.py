"""What both forms of a CDF file (cdf_json, cdf_xml) read into, and cvr.cdf makes ballots of.

Each form's `read(source)` yields, in file order, `(RECORD, (contests, unit))` for each record and
`(DEFINITIONS, (contests, units))` once the definitions are complete. A record's `contests` pairs
each contest id with its positions, each a plain tuple `(selection id, rank, indicated, write-in
text)` (the write-in text is "" for a write-in without text, None for no write-in): tuples, so that
equal records are equal values that records read before the definitions can be spooled as
(cvr.spool)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFINITIONS, RECORD = "definitions", "record"

Position = tuple[Any, Any, bool, Any]  # (selection id, rank, indicated, write-in text)
Contests = tuple[tuple[str, tuple[Position, ...]], ...]  # (contest id, its positions) per contest


@dataclass
class CdfContest:
    id: str
    name: str
    selections: dict[str, tuple[str, bool]] = field(default_factory=dict)  # id -> (candidate name, write-in)
