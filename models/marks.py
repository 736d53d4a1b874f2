"""Compact ballot marks for storage: 4 bytes a mark (candidate position, value), big-endian.

Bytes group and compare fast in PostgreSQL (see the architecture note's figures), and sorting the
marks canonically at load time lets identical ballots group even when cast in another order.
The layout is this module's; which integer a value is stored as, the order of the marks and how
they read back are the mark kind's (`counting.mark_kinds`)."""

from __future__ import annotations

import json
import struct
import sys
from array import array
from itertools import accumulate, tee
from collections.abc import Iterator, Mapping, Sequence

from counting.ballots import Ballot, Marks, parse_ballot
from counting.mark_kinds import MARK_KINDS
from counting.vocabulary import MarkKind

_MARK = struct.Struct(">HH")
_COUNT = struct.Struct("<Q")
assert array("I").itemsize == 4 and array("q").itemsize == 8
LIMIT = 0xFFFF


def encode(marks: Marks, positions: Mapping[str, int], kind: MarkKind) -> bytes | None:
    """The compact form, or None when the marks cannot be stored compactly (unknown candidate,
    value out of range): such a ballot is kept in its original JSON instead."""
    rules = MARK_KINDS[kind]
    pairs = []
    for candidate, value in marks:
        position = positions.get(candidate)
        stored = rules.stored_value(value, positions)
        if position is None or stored is None or not 0 <= stored <= LIMIT:
            return None
        pairs.append((position, stored))
    rules.stored_order(pairs)
    return b"".join(_MARK.pack(p, v) for p, v in pairs)


class Decoder:
    """Decodes stored marks back to (candidate key, value) pairs for one contest."""

    def __init__(self, keys: Sequence[str], kind: MarkKind):
        self.keys = list(keys)
        self.decode = MARK_KINDS[kind].decode

    def __call__(self, data: bytes) -> Marks:
        return self.decode(self.keys, _MARK.iter_unpack(data))


def stored_ballot(decoder: Decoder, marks: bytes, weight: int, explicit: bool, defect: str | None, raw: str | None) -> Ballot:
    """The ballot a stored row stands for: its compact marks decoded, or its original record read
    again when the marks could not be encoded, or just its defect when the record was unreadable."""
    if defect:
        return Ballot(weight=weight, explicit_invalid=explicit, defect=defect)
    if raw is not None:
        parsed = parse_ballot(json.loads(raw))
        return Ballot(parsed.marks, weight, parsed.explicit_invalid, parsed.defect)
    return Ballot(decoder(marks), weight, explicit)


def pack_multiset(marks: Sequence[bytes], weights: Sequence[int]) -> bytes:
    """A multiset of stored marks (compact bytes, each with its weight) for the staging table: a
    count, the lengths and the weights as arrays, then the marks back to back, so packing and
    unpacking cost a few C calls, not a parse per ballot. Weights too large for 64 bits go as JSON."""
    try:
        packed_weights = _little(array("q", weights)).tobytes()
    except OverflowError:
        return b"J" + json.dumps([[m.hex(), w] for m, w in zip(marks, weights, strict=True)]).encode()
    lengths = _little(array("I", map(len, marks))).tobytes()
    return b"A" + _COUNT.pack(len(marks)) + lengths + packed_weights + b"".join(marks)


def unpack_multiset(blob: bytes) -> Iterator[tuple[bytes, int]]:
    if blob[:1] == b"J":
        return ((bytes.fromhex(m), w) for m, w in json.loads(blob[1:]))
    lengths, weights, start = multiset_columns(blob)
    ends = accumulate(lengths, initial=start)
    starts, ends = tee(ends)
    next(ends, None)
    return zip(map(blob.__getitem__, map(slice, starts, ends)), weights, strict=True)


def multiset_columns(blob: bytes) -> tuple[array, array, int]:
    """An "A" blob's mark lengths and weights (native byte order), and where its marks start."""
    (n,) = _COUNT.unpack_from(blob, 1)
    lengths, weights = array("I"), array("q")
    start = 1 + _COUNT.size
    lengths.frombytes(blob[start : start + 4 * n])
    weights.frombytes(blob[start + 4 * n : start + 12 * n])
    return _little(lengths), _little(weights), start + 12 * n


def _little(values: array) -> array:
    """Staged blobs are little-endian whatever machine wrote them (in place, and returned)."""
    if sys.byteorder == "big":
        values.byteswap()
    return values
