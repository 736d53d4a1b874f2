"""Which module reads which provider's CVRs, by RCTab's provider name."""

from __future__ import annotations

import importlib
from typing import Iterator

from .errors import CvrError
from .records import Names, Record
from .source import Source

READERS = {
    "ess": "cvr.ess",
    "cdf": "cvr.cdf",
    "dominion": "cvr.dominion",
    "hart": "cvr.hart",
    "clearBallot": "cvr.clear_ballot",
    "genericCsv": "cvr.generic_csv",
}


def read(source: Source, names: Names) -> Iterator[Record]:
    """Stream the records of one source. A missing file is a CvrError like any unreadable one."""
    if source.provider not in READERS:
        raise CvrError(source.path, "", "provider", f"unknown provider {source.provider!r} (known: {', '.join(READERS)})")
    if not source.path.exists():
        raise CvrError(source.path, "", "", "no such file or directory")
    return importlib.import_module(READERS[source.provider]).read(source, names)


def read_all(sources, names: Names) -> Iterator[Record]:
    for source in sources:
        yield from read(source, names)
