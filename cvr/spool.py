"""Records read before what gives them meaning (a CDF file's definitions follow its records), kept
in file order in bounded memory until it comes.

Each record is a tuple of fields. A field's distinct values are numbered as they are met (a county's
records repeat a few thousand rankings and a few hundred precincts), and the record is written to a
temporary file as its fields' numbers; a value that cannot be numbered (unhashable, or past the
`distinct` values kept) is written whole with marshal. Replaying gives each field as (number, value)
so that a reader can remember what it made of a number instead of hashing the value again."""

from __future__ import annotations

import marshal
import tempfile
from array import array
from typing import Any, Iterator

WHOLE = -1  # the number of a value written whole
CHUNK = 1 << 16  # numbers written to the file at a time


class Pending:
    def __init__(self, fields: int, distinct: int = 100_000):
        self.fields, self.distinct = fields, distinct
        self.numbers: list[dict[Any, int]] = [{} for _ in range(fields)]
        self.values: list[list[Any]] = [[] for _ in range(fields)]
        self.buffer = array("i")
        self.file = tempfile.TemporaryFile()
        self.whole = tempfile.TemporaryFile()
        self.count = 0

    def add(self, record: tuple) -> None:
        for field, value in enumerate(record):
            numbers = self.numbers[field]
            try:
                number = numbers.get(value)
                if number is None and len(numbers) < self.distinct:
                    number = numbers[value] = len(numbers)
                    self.values[field].append(value)
            except TypeError:  # unhashable: a list or an object where a string belongs
                number = None
            if number is None:
                number = WHOLE
                blob = marshal.dumps(value)
                self.whole.write(len(blob).to_bytes(8, "little") + blob)
            self.buffer.append(number)
        self.count += 1
        if len(self.buffer) >= CHUNK:
            self.buffer.tofile(self.file)
            del self.buffer[:]

    def replay(self) -> Iterator[tuple[tuple[int, Any], ...]]:
        """The records in the order they were added, then nothing is kept."""
        self.buffer.tofile(self.file)
        self.file.seek(0)
        self.whole.seek(0)
        self.numbers = []
        left = self.count * self.fields
        while left:
            numbers = array("i")
            numbers.fromfile(self.file, min(left, CHUNK - CHUNK % self.fields))
            left -= len(numbers)
            yield from self._records(numbers)
        self.close()

    def _records(self, numbers: array) -> Iterator[tuple[tuple[int, Any], ...]]:
        columns = [numbers[field :: self.fields] for field in range(self.fields)]
        if WHOLE in numbers:
            for row in zip(*columns, strict=True):
                yield tuple(self._field(field, number) for field, number in enumerate(row))
            return
        # Every value numbered: each record's (number, value) pairs are zipped in C.
        picked = [list(map(self.values[field].__getitem__, column)) for field, column in enumerate(columns)]
        yield from zip(*(zip(column, values, strict=True) for column, values in zip(columns, picked, strict=True)), strict=True)

    def _field(self, field: int, number: int) -> tuple[int, Any]:
        if number == WHOLE:
            return WHOLE, marshal.loads(self.whole.read(int.from_bytes(self.whole.read(8), "little")))
        return number, self.values[field][number]

    def close(self) -> None:
        self.file.close()
        self.whole.close()
