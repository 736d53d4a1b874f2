"""Which module reads which provider's CVRs, by RCTab's provider name."""

from __future__ import annotations

import importlib
from typing import Iterator

from .errors import CvrError
from .files import inside
from .records import Names, Notes, Record
from .source import Source

READERS = {
    "ess": "cvr.ess",
    "cdf": "cvr.cdf",
    "dominion": "cvr.dominion",
    "hart": "cvr.hart",
    "clearBallot": "cvr.clear_ballot",
    "genericCsv": "cvr.generic_csv",
}


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    """Stream the records of one source. A missing file is a CvrError like any unreadable one."""
    if source.provider not in READERS:
        raise CvrError(source.path, "", "provider", f"unknown provider {source.provider!r} (known: {', '.join(READERS)})")
    inside(source.path, source.root)
    return importlib.import_module(READERS[source.provider]).read(source, names, notes)


def read_all(sources, names: Names, notes: Notes | None = None) -> Iterator[Record]:
    notes = Notes() if notes is None else notes
    for source in sources:
        yield from read(source, names, notes)
