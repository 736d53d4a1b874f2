"""The CSV providers' shared opening: a header row, then one ballot a row, read as a stream."""

from __future__ import annotations

import csv
from contextlib import contextmanager
from typing import Iterator

from .errors import CvrError
from .source import Source


@contextmanager
def csv_rows(source: Source) -> Iterator[tuple[list[str], Iterator[tuple[int, list[str]]]]]:
    """The header and the rows after it, each with its 1-based row number (the header is row 1)."""
    with open(source.path, newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        try:
            header = next(rows)
        except StopIteration:
            raise CvrError(source.path, "row 1", "", "the header row is missing") from None
        yield header, enumerate(rows, start=2)
