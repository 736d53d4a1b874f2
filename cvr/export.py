"""A whole export read in one pass: every contest it holds, with what the export says about them.

`tally load --cvr PATH --provider P --election KEY` without `--contest` loads a whole election from
an export. The provider's `read_export(source, export)` yields an `ExportRecord` per ballot of each
contest, with the vendor's ids: the contest, the area (precinct, or precinct portion where the
export has them), the marks as (candidate id, rank). While it reads, it fills `export`: the contests
with their candidates and what the format says of their rules, and the areas with their parents.
Both are complete once the records are read; the loader spools the records meanwhile.

What a contest's rules are, where the format does not say them all (docs/election-data.md):
ranked (more than one rank) and one seat is `instant-runoff`, ranked with several seats `meek-stv`,
otherwise `plurality-at-large` with the seats the export gives (one if it gives none); a CDF
contest's `VoteVariation` says it where it is present. A contest defined beforehand (`tally load
--definition`) keeps its own rules: the export's contests and candidates are matched to it. A Hart
export lists only the options a voter marked and says nothing of seats, so its contests must be
defined beforehand.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple

from .errors import CvrError
from .files import inside
from .records import Notes
from .source import Source

PROVIDERS = {"cdf": "cvr.cdf", "dominion": "cvr.dominion", "clearBallot": "cvr.clear_ballot", "hart": "cvr.hart"}


@dataclass
class ExportCandidate:
    id: str
    name: str
    write_in: bool = False


@dataclass
class ExportContest:
    id: str
    name: str
    seats: int | None = None  # the export's "vote for" or number elected, where it says
    ranks: int | None = None  # ranks a voter may give, where it says (Dominion's NumOfRanks)
    votes_allowed: int | None = None  # marks a voter may make, where it says (CDF's VotesAllowed)
    method: str | None = None  # where the export names it (CDF's VoteVariation)
    candidates: dict[str, ExportCandidate] = field(default_factory=dict)
    highest_rank: int = 0  # the highest rank seen in a record
    undefined: str | None = None  # why the export cannot define this contest (it must be defined beforehand)

    def rules(self) -> dict:
        """The definition's method, seats and max_votes for this contest, as the module says."""
        seats = max(1, self.seats or 1)
        ranked = (self.ranks or 0) > 1 or self.highest_rank > 1
        method = self.method or ("instant-runoff" if ranked else "plurality-at-large")
        if method == "instant-runoff" and seats > 1:
            method = "meek-stv"
        if method in ("instant-runoff", "meek-stv"):
            max_votes = self.ranks or self.votes_allowed or max(self.highest_rank, 1)
        elif method == "plurality-at-large":
            max_votes = self.votes_allowed or seats
        else:
            max_votes = self.votes_allowed
        return {"method": method, "seats": seats, **({"max_votes": max_votes} if max_votes else {})}


@dataclass(frozen=True)
class ExportArea:
    key: str
    name: str
    parent: str | None  # the key of the precinct a portion is part of; None: under the election's root


class ExportRecord(NamedTuple):
    contest: str
    area: str | None
    marks: tuple[tuple[str, int], ...]
    defect: str | None = None


@dataclass
class Export:
    contests: dict[str, ExportContest] = field(default_factory=dict)
    areas: dict[str, ExportArea] = field(default_factory=dict)
    notes: Notes = field(default_factory=Notes)

    def area(self, key: str | None, name: str | None = None, parent: str | None = None) -> str | None:
        if key is not None and key not in self.areas:
            self.areas[key] = ExportArea(key, name or key, parent)
        return key


def read_export(source: Source, export: Export) -> Iterator[ExportRecord]:
    """The records of every contest of the export at `source`, filling `export` as they are read."""
    if source.provider not in PROVIDERS:
        raise CvrError(source.path, "", "provider",
                       f"{source.provider!r} cannot be loaded whole (with --contest, one contest of it can): "
                       f"whole exports are read for {', '.join(PROVIDERS)}")
    inside(source.path, source.root)
    return importlib.import_module(PROVIDERS[source.provider]).read_export(source, export)
