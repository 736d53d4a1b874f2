"""Clear Ballot CSV: one row per ballot; each choice column's header is
`Choice_<id>_<n>:<contest>:<rank>:<winners>:<candidate>:<party>` and its cell is 1 when marked.
Contest names may hold commas (the fields are quoted): the standard `csv` module reads them."""

from __future__ import annotations

from typing import Iterator

from counting.ballots import Ballot

from .csv_rows import csv_rows
from .errors import CvrError
from .records import Names, Notes, Record
from .source import Source

PRECINCT_COLUMN = "PrecinctID"


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    with csv_rows(source) as (header, rows):
        choices = _choices(header, source)
        precinct = header.index(PRECINCT_COLUMN) if PRECINCT_COLUMN in header else None
        for number, row in rows:
            if len(row) != len(header):
                raise CvrError(source.path, f"row {number}", "", f"has {len(row)} fields, the header {len(header)}")
            marks = tuple((names.resolve(candidate), rank) for column, rank, candidate in choices if row[column].strip() == "1")
            yield Record(Ballot(marks=tuple(m for m in marks if m[0] is not None)), row[precinct] if precinct is not None else None)


def _choices(header: list[str], source: Source) -> list[tuple[int, int, str]]:
    """(column, rank, candidate) of each choice column of the configured contest."""
    out = []
    for column, title in enumerate(header):
        if not title.startswith("Choice_"):
            continue
        parts = title.split(":")
        if len(parts) < 6:
            raise CvrError(source.path, "row 1", title, "a choice column must read Choice_<id>:<contest>:<rank>:<winners>:<candidate>:<party>")
        contest, rank, candidate = ":".join(parts[1:-4]), parts[-4], parts[-2]
        if source.contest_id and contest != source.contest_id:
            continue
        try:
            out.append((column, int(rank), candidate))
        except ValueError:
            raise CvrError(source.path, "row 1", title, f"the rank {rank!r} is not a whole number") from None
    if not out:
        raise CvrError(source.path, "row 1", "contestId", f"no choice column for the contest {source.contest_id!r}")
    return out
