"""One CVR source of an RCTab configuration (or of `tally load --cvr`): where it is and how to read it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    provider: str
    path: Path
    root: Path | None = None  # the folder its files must stay in (None: wherever the path leads)
    contest_id: str = ""  # cdf, dominion, hart, clearBallot: which contest of the file
    first_vote_column: int = 1  # 1-based, like RCTab's configuration
    first_vote_row: int = 2  # 1-based: rows above it are headers
    id_column: int | None = None
    precinct_column: int | None = None
    overvote_delimiter: str = ""
    overvote_label: str = ""
    skipped_rank_label: str = ""
    uwi_label: str = ""
    blank_is_uwi: bool = False
    max_rankings: int | None = None  # rank columns to read (None: as many as the file has)
