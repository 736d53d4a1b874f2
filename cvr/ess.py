"""ES&S cast vote records: an .xlsx sheet, one row per ballot, one column per rank.

Read with python-calamine (Rust's calamine): it reads a sheet about ten times faster than openpyxl,
whatever wrote the file (shared or inline strings, with or without a `<dimension>`). It holds the
sheet while its rows are read; a sheet has at most 1,048,576 rows, and its parts are checked not to
inflate past `TALLY_CVR_MEMBER_BYTES` before it starts. A cell holds a candidate's name (or an
alias), the undervote label (a skipped rank), the overvote label, the undeclared write-in label,
several names joined by the overvote delimiter, or nothing.
"""

from __future__ import annotations

import re
import zipfile
from typing import Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .files import check_inflated, open_regular
from .records import Names, Notes, Record, marks_of
from .source import Source

DISTINCT_KEPT = 100_000  # distinct rankings (and precinct cells) remembered at a time
_UNSEEN = object()


def _first_sheet_of(source: Source):
    from python_calamine import CalamineWorkbook

    with open_regular(source.path, source.root) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                check_inflated(archive, str(source.path))
            handle.seek(0)
            return CalamineWorkbook.from_filelike(handle).get_sheet_by_index(0)
        except CvrError:
            raise
        except Exception as exc:  # zipfile's and calamine's errors: the file is not a workbook
            raise CvrError(source.path, "", "", f"not a readable .xlsx workbook: {exc}") from None


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    sheet = _first_sheet_of(source)
    # calamine's rows start at the sheet's first row, but its cells at the first used column.
    pad = [""] * sheet.start[1] if sheet.start else []
    first = source.first_vote_column - 1
    last = None if source.max_rankings is None else first + source.max_rankings
    # A county's rankings repeat: each distinct one is resolved once (and its Ballot shared).
    ballots: dict[tuple, Ballot] = {}
    precincts: dict[object, object] = {}
    filled = 0  # vote rows holding something
    empty_cells = None  # the cells of an empty vote row, if the sheet has one
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number < source.first_vote_row:
            continue
        if row.count("") == len(row):
            empty_cells = empty_cells or tuple((pad + row)[first:last])
            continue  # counted below if the sheet holds it as a row
        filled += 1
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
    last_row = sheet.end[0] + 1 if sheet.end else 0
    if empty_cells is not None or _rows_beyond(source, last_row):
        cells = empty_cells or ("",) * (source.max_rankings or 0)
        yield from _empty_rows(source, names, notes, filled, cells)


def _empty_rows(source: Source, names: Names, notes: Notes, filled: int, cells: tuple) -> Iterator[Record]:
    """RCTab reads every row the sheet holds from the first vote row on, empty or not, as a ballot;
    the rows a sheet does not hold (gaps in its numbering) are no ballots. calamine shows both as
    empty rows, or none after the last filled one, so the sheet's own rows are counted: those beyond
    the filled ones are empty."""
    empty = _sheet_rows(source) - filled
    if empty > 0:
        notes.count_in("empty spreadsheet rows, as ballots ranking nobody (as RCTab counts them)", empty)
        ballot = Ballot(marks=marks_of(_ranks(cells, source, names), names))
        for _ in range(empty):
            yield Record(ballot, None)


_ROW = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_ROW_NUMBER = re.compile(rb"""\br=["'](\d+)["']""")


_DIMENSION = re.compile(rb"""<(?:\w+:)?dimension\b[^>]*\bref=["'][A-Z]*\d*:?[A-Z]*(\d+)["']""")


def _rows_beyond(source: Source, last_row: int) -> bool:
    """Whether the sheet may hold rows after calamine's last one: its <dimension> (which comes before
    the rows) says so, or it has none to say."""
    with open_regular(source.path, source.root) as handle, zipfile.ZipFile(handle) as archive:
        with archive.open(_first_sheet_part(archive)) as part:
            head = part.read(1 << 16)
    found = _DIMENSION.search(head)
    return found is None or int(found.group(1)) > last_row


def _sheet_rows(source: Source) -> int:
    """How many <row> elements the first sheet holds from the first vote row on."""
    with open_regular(source.path, source.root) as handle, zipfile.ZipFile(handle) as archive:
        xml = archive.read(_first_sheet_part(archive))
    rows, number = 0, 0
    for match in _ROW.finditer(xml):
        given = _ROW_NUMBER.search(match.group(1))
        number = int(given.group(1)) if given else number + 1  # r is optional: rows then follow on
        rows += number >= source.first_vote_row
    return rows


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    """The part of the workbook's first sheet (the one calamine reads), by its relationship."""
    from lxml import etree

    safe = etree.XMLParser(resolve_entities=False, no_network=True)
    workbook = etree.fromstring(archive.read("xl/workbook.xml"), safe)
    sheet = next(e for e in workbook.iter() if etree.QName(e).localname == "sheet")
    wanted = next(v for k, v in sheet.attrib.items() if etree.QName(k).localname == "id")
    rels = etree.fromstring(archive.read("xl/_rels/workbook.xml.rels"), safe)
    target = next(e.get("Target") for e in rels if e.get("Id") == wanted)
    return target.lstrip("/") if target.startswith("/") else "xl/" + target


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


