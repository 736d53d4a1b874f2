"""The CSV providers' shared opening: a header row, then one ballot a row, read as a stream.

The file must be UTF-8 (a byte order mark is allowed, as Excel writes one); another encoding, a
field longer than `TALLY_CVR_CSV_FIELD_BYTES` or a malformed quote is refused with the row it is in.
"""

from __future__ import annotations

import csv
from contextlib import contextmanager
from typing import Iterator

from .errors import CvrError
from .files import limits, open_regular
from .source import Source


@contextmanager
def csv_rows(source: Source) -> Iterator[tuple[list[str], Iterator[tuple[int, list[str]]]]]:
    """The header and the rows after it, each with its 1-based row number (the header is row 1)."""
    csv.field_size_limit(limits().csv_field_bytes)
    with open_regular(source.path, source.root) as raw:
        lines = _Lines(raw, source)
        numbered = _rows(csv.reader(lines), source)
        try:
            _, header = next(numbered)
        except StopIteration:
            raise CvrError(source.path, "row 1", "", "the header row is missing") from None
        yield header, numbered


class _Lines:
    """The file's lines as text, each decoded alone so that an encoding error names its line."""

    def __init__(self, raw, source: Source):
        self.raw, self.source, self.number = raw, source, 0

    def __iter__(self) -> Iterator[str]:
        for line in self.raw:
            self.number += 1
            if self.number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CvrError(self.source.path, f"line {self.number}", "",
                               f"is not UTF-8 text (byte {exc.object[exc.start]:#04x}): save it as UTF-8") from None


def _rows(rows, source: Source) -> Iterator[tuple[int, list[str]]]:
    number = 0
    while True:
        number += 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise CvrError(source.path, f"row {number}", "", f"a field is longer than {limits().csv_field_bytes:,} "
                               "characters (TALLY_CVR_CSV_FIELD_BYTES)") from None
            raise CvrError(source.path, f"row {number}", "", f"is not valid CSV: {exc}") from None
        yield number, row
