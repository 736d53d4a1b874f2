"""Staged valid-ballot multisets (models.marks.pack_multiset) added up, for a contest's pooled count.

A non-additive contest pools every area's distinct ballots: at 10M ballots in 1,000 areas, 2.5M
(marks, weight) entries into 31k distinct marks. Added one by one in a Python dictionary that took
2.3 s, most of the contest step, which runs alone after every area task. Here each blob's columns
become Arrow arrays over its own bytes (no copy, no object per entry) and Arrow's hash aggregation
adds them up (0.8 s). Arrow sums int64 without an overflow check, so whenever a sum could pass 64
bits (or a weight is negative, or a blob holds weights past 64 bits) the entries are added in
Python integers instead: the totals are exact either way."""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate, chain

# The marks are read in place from each blob's bytes, at whatever offset they start: Acero warns
# about such buffers on every aggregation (16 lines a demo) unless told otherwise. The processors
# this runs on read unaligned words, and its one variable-width column needs no alignment.
os.environ.setdefault("ACERO_ALIGNMENT_HANDLING", "ignore")

import pyarrow as pa  # noqa: E402  (after the setting above, which Arrow reads once)
import pyarrow.compute as pc  # noqa: E402

from .marks import multiset_columns, unpack_multiset

_INT64_LIMIT = 2**63
# Entries gathered before they are added into the running totals: bounds the memory to the
# distinct marks plus this many entries, not every area's blob at once.
_ENTRIES_AT_ONCE = 1 << 20


def merge_multisets(blobs: Iterable[bytes]) -> dict[bytes, int]:
    """Each distinct stored marks -> its summed weight over the blobs, in the order of the marks'
    bytes: the same for the same entries, in whatever order the blobs or their entries come."""
    blobs = iter(blobs)
    totals: pa.Table | None = None
    pending: list[pa.Table] = []
    entries = bound = 0  # bound: the largest any sum can be
    for blob in blobs:
        table = _table(blob)
        if table is None:
            return _exactly(totals, pending, chain([blob], blobs))
        low, high = _min_max(table)
        bound += high * table.num_rows
        if low < 0 or bound >= _INT64_LIMIT:
            return _exactly(totals, pending, chain([blob], blobs))
        pending.append(table)
        entries += table.num_rows
        if entries >= _ENTRIES_AT_ONCE:
            totals, pending, entries = _added(totals, pending), [], 0
    totals = _added(totals, pending)
    if totals is None:
        return {}
    totals = totals.sort_by("marks")
    return dict(zip(totals.column("marks").to_pylist(), totals.column("weight").to_pylist(), strict=True))


def _table(blob: bytes) -> pa.Table | None:
    """An "A" blob as a table of (marks, weight) over the blob's own bytes; None for a "J" blob."""
    if blob[:1] == b"J":
        return None
    lengths, weights, start = multiset_columns(blob)
    n = len(lengths)
    offsets = array("i", accumulate(lengths, initial=0))  # Arrow's binary offsets (a blob is < 2 GiB)
    marks = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(memoryview(blob)[start:])])
    return pa.table({"marks": marks, "weight": pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(weights)])})


def _min_max(table: pa.Table) -> tuple[int, int]:
    if table.num_rows == 0:
        return 0, 0
    found = pc.min_max(table.column("weight")).as_py()
    return found["min"], found["max"]


def _added(totals: pa.Table | None, tables: list[pa.Table]) -> pa.Table | None:
    """The running totals with the tables' entries added."""
    tables = ([totals] if totals is not None else []) + tables
    if not tables:
        return totals
    grouped = pa.concat_tables(tables).group_by("marks").aggregate([("weight", "sum")])
    return pa.table({"marks": grouped.column("marks"), "weight": grouped.column("weight_sum")})


def _exactly(totals: pa.Table | None, pending: list[pa.Table], blobs: Iterator[bytes]) -> dict[bytes, int]:
    """The rest of a merge in Python integers: the totals so far, the pending tables, then the blobs."""
    total: dict[bytes, int] = {}
    get = total.get
    tables = ([totals] if totals is not None else []) + pending
    read = (zip(t.column("marks").to_pylist(), t.column("weight").to_pylist(), strict=True) for t in tables)
    for pairs in chain(read, map(unpack_multiset, blobs)):
        for marks, weight in pairs:
            total[marks] = get(marks, 0) + weight
    return dict(sorted(total.items()))
