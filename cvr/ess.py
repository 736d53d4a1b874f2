"""ES&S cast vote records: an .xlsx sheet, one row per ballot, one column per rank.

Read with python-calamine (Rust's calamine): it reads a sheet about ten times faster than openpyxl,
whatever wrote the file (shared or inline strings, with or without a `<dimension>`). It holds the
sheet while its rows are read; a sheet has at most 1,048,576 rows, and its parts are checked not to
inflate past `TALLY_CVR_MEMBER_BYTES` before it starts. A cell holds a candidate's name (or an
alias), the undervote label (a skipped rank), the overvote label, the undeclared write-in label,
several names joined by the overvote delimiter, or nothing.
"""

from __future__ import annotations

import zipfile
from typing import Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .files import check_inflated, open_regular
from .records import Names, Notes, Record, marks_of
from .source import Source

DISTINCT_KEPT = 100_000  # distinct rankings (and precinct cells) remembered at a time
_UNSEEN = object()


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    from python_calamine import CalamineWorkbook

    with open_regular(source.path, source.root) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                check_inflated(archive, str(source.path))
            handle.seek(0)
            sheet = CalamineWorkbook.from_filelike(handle).get_sheet_by_index(0)
        except CvrError:
            raise
        except Exception as exc:  # zipfile's and calamine's errors: the file is not a workbook
            raise CvrError(source.path, "", "", f"not a readable .xlsx workbook: {exc}") from None
    # calamine's rows start at the sheet's first row, but its cells at the first used column.
    pad = [""] * sheet.start[1] if sheet.start else []
    first = source.first_vote_column - 1
    last = None if source.max_rankings is None else first + source.max_rankings
    # A county's rankings repeat: each distinct one is resolved once (and its Ballot shared).
    ballots: dict[tuple, Ballot] = {}
    precincts: dict[object, object] = {}
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number < source.first_vote_row or row.count("") == len(row):
            continue  # headers, and the empty rows that spreadsheet tools leave behind
        if pad:
            row = pad + row
        cells = tuple(row[first:last])
        ballot = ballots.get(cells)
        if ballot is None:
            if len(ballots) >= DISTINCT_KEPT:
                ballots.clear()
            ballot = ballots[cells] = Ballot(marks=marks_of(_ranks(cells, source, names), names))
        precinct = None
        if source.precinct_column is not None and source.precinct_column <= len(row):
            cell = row[source.precinct_column - 1]
            precinct = precincts.get(cell, _UNSEEN)
            if precinct is _UNSEEN:
                precinct = _cell_text(cell)
                if len(precincts) < DISTINCT_KEPT:
                    precincts[cell] = precinct
        yield Record(ballot, precinct)


def _ranks(cells, source: Source, names: Names):
    for rank, cell in enumerate(cells, start=1):
        text = _cell_text(cell)
        if text is None:
            yield rank, ([names.uwi] if source.blank_is_uwi and names.uwi else ())
        elif source.overvote_delimiter and source.overvote_delimiter in text:
            yield rank, [names.resolve(part) for part in text.split(source.overvote_delimiter) if part.strip()]
        else:
            yield rank, (names.resolve(text),)


def _cell_text(cell) -> str | None:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = str(cell).strip()
    return text or None


