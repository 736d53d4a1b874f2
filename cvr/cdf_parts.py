"""What both forms of a CDF file (cdf_json, cdf_xml) read into, and cvr.cdf makes ballots of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CdfContest:
    id: str
    name: str
    selections: dict[str, tuple[str, bool]] = field(default_factory=dict)  # id -> (candidate name, write-in)


@dataclass
class Position:
    selection: str | None
    rank: Any
    indicated: bool
    write_in: str | None  # the text of a CVRWriteIn ("" when it has none), None for no write-in
