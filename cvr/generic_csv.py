"""RCTab's generic CSV: one row per ballot, one column per candidate (named in the header row),
each cell the rank the voter gave that candidate. Read with the standard `csv` module, row by row.
A cell that is not a whole number makes its record `malformed-marks` (kept, counted invalid)."""

from __future__ import annotations

from typing import Iterator

from counting.ballots import Ballot

from .csv_rows import csv_rows
from .records import Names, Notes, Record
from .source import Source


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    with csv_rows(source) as (header, rows):
        first = source.first_vote_column - 1
        candidates = [names.resolve(name) for name in header[first:]]
        for number, row in rows:
            if number < source.first_vote_row or not any(cell.strip() for cell in row):
                continue
            yield Record(_ballot(row[first:], candidates), _cell(row, source.precinct_column))


def _ballot(cells: list[str], candidates: list) -> Ballot:
    marks = []
    for cell, candidate in zip(cells, candidates, strict=False):
        cell = cell.strip()
        if not cell:
            continue
        try:
            rank = int(cell)
        except ValueError:
            return Ballot(defect="malformed-marks")
        if candidate is not None:
            marks.append((candidate, rank))
    return Ballot(marks=tuple(marks))


def _cell(row: list[str], column: int | None) -> str | None:
    if column is None or column - 1 >= len(row):
        return None
    return row[column - 1].strip() or None
