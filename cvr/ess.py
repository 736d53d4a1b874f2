"""ES&S cast vote records: an .xlsx sheet, one row per ballot, one column per rank.

Read with openpyxl in read-only mode, which streams the sheet's XML row by row instead of building
the workbook in memory. A cell holds a candidate's name (or an alias), the undervote label (a
skipped rank), the overvote label, the undeclared write-in label, several names joined by the
overvote delimiter, or nothing.
"""

from __future__ import annotations

import warnings
import zipfile
from typing import Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .records import Names, Record, marks_of
from .source import Source

# openpyxl warns, while it reads rows, about workbook extensions it skips (data validation, ...).
warnings.filterwarnings("ignore", message="Unknown extension is not supported", module="openpyxl")


def read(source: Source, names: Names) -> Iterator[Record]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(source.path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CvrError(source.path, "", "", f"not a readable .xlsx workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        first = source.first_vote_column - 1
        last = None if source.max_rankings is None else first + source.max_rankings
        rows = sheet.iter_rows(min_row=source.first_vote_row, values_only=True)
        number = source.first_vote_row - 1
        while True:
            number += 1
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet: openpyxl raises whatever its parser met
                raise CvrError(source.path, f"row {number}", "", f"cannot be read: {exc}") from None
            if not any(cell is not None for cell in row):
                continue  # trailing empty rows that spreadsheet tools leave behind
            yield Record(
                Ballot(marks=marks_of(_ranks(row[first:last], source, names), names)),
                _text(row, source.precinct_column),
            )
    finally:
        book.close()


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
    if cell is None:
        return None
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = str(cell).strip()
    return text or None


def _text(row, column: int | None) -> str | None:
    if column is None or column - 1 >= len(row):
        return None
    return _cell_text(row[column - 1])
