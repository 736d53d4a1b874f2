"""Clear Ballot CSV: one row per ballot; each choice column's header is
`Choice_<id>_<n>:<contest>:<rank>:<winners>:<candidate>:<party>` and its cell is 1 when marked.
Contest names may hold commas (the fields are quoted): the standard `csv` module reads them."""

from __future__ import annotations

import re
from typing import Iterator

from counting.ballots import Ballot

from .csv_rows import csv_rows
from .errors import CvrError
from .export import Export, ExportCandidate, ExportContest, ExportRecord
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


def read_export(source: Source, export: Export) -> Iterator[ExportRecord]:
    """Every contest of the file, named by the choice columns: a contest and its candidates by their
    names, its seats the columns' winners, ranked when a column's rank is past 1; areas the precincts."""
    with csv_rows(source) as (header, rows):
        columns = _columns(header, source)
        by_contest: dict[str, list[tuple[int, int, str]]] = {}
        for column, contest, rank, winners, candidate in columns:
            entry = export.contests.setdefault(contest, ExportContest(id=contest, name=contest))
            entry.seats = max(entry.seats or 0, winners) or None
            entry.highest_rank = max(entry.highest_rank, rank)
            entry.candidates.setdefault(candidate, ExportCandidate(candidate, candidate, candidate.lower().startswith("write")))
            by_contest.setdefault(contest, []).append((column, rank, candidate))
        precinct = header.index(PRECINCT_COLUMN) if PRECINCT_COLUMN in header else None
        for number, row in rows:
            if len(row) != len(header):
                raise CvrError(source.path, f"row {number}", "", f"has {len(row)} fields, the header {len(header)}")
            area = export.area(row[precinct]) if precinct is not None and row[precinct] else None
            for contest, choices in by_contest.items():
                marks = tuple((candidate, rank) for column, rank, candidate in choices if row[column].strip() == "1")
                yield ExportRecord(contest, area, marks)


def _choices(header: list[str], source: Source) -> list[tuple[int, int, str]]:
    """(column, rank, candidate) of each choice column of the configured contest."""
    out = [(column, rank, candidate) for column, contest, rank, _, candidate in _columns(header, source)
           if not source.contest_id or contest == source.contest_id]
    if not out:
        raise CvrError(source.path, "row 1", "contestId", f"no choice column for the contest {source.contest_id!r}")
    return out


def _columns(header: list[str], source: Source) -> list[tuple[int, str, int, int, str]]:
    """(column, contest, rank, winners, candidate) of each choice column."""
    out = []
    for column, title in enumerate(header):
        if not title.startswith("Choice_"):
            continue
        parts = title.split(":")
        if len(parts) < 6:
            raise CvrError(source.path, "row 1", title, "a choice column must read Choice_<id>:<contest>:<rank>:<winners>:<candidate>:<party>")
        contest, rank, winners, candidate = ":".join(parts[1:-4]), parts[-4], parts[-3], parts[-2]
        try:
            seats = re.search(r"(\d+)\s*$", winners)  # "Number of Winners 2", or "2"
            out.append((column, contest, int(rank), int(seats[1]) if seats else 1, candidate))
        except ValueError:
            raise CvrError(source.path, "row 1", title, f"the rank {rank!r} is not a whole number") from None
    return out
