"""Compact ballot marks for storage: 4 bytes a mark (candidate position, value), big-endian.

Bytes group and compare fast in PostgreSQL (see the architecture note's figures), and sorting the
marks canonically at load time lets identical ballots group even when cast in another order."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections import Counter
from typing import Iterable, Mapping, Sequence

from counting.ballots import Ballot, Marks, parse_ballot

_MARK = struct.Struct(">HH")
LIMIT = 0xFFFF


def encode(marks: Marks, positions: Mapping[str, int], kind: str) -> bytes | None:
    """The compact form, or None when the marks cannot be stored compactly (unknown candidate,
    value out of range): such a ballot is kept in its original JSON instead."""
    pairs = []
    for candidate, value in marks:
        position = positions.get(candidate)
        if position is None:
            return None
        if kind == "pair":
            value = positions.get(value) if isinstance(value, str) else None
            if value is None:
                return None
        elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= LIMIT:
            return None
        pairs.append((position, value))
    if kind == "rank":
        pairs.sort(key=lambda p: (p[1], p[0]))
    else:
        pairs.sort()
    return b"".join(_MARK.pack(p, v) for p, v in pairs)


class Decoder:
    """Decodes stored marks back to (candidate key, value) pairs for one contest."""

    def __init__(self, keys: Sequence[str], kind: str):
        self.keys = list(keys)
        self.kind = kind

    def __call__(self, data: bytes) -> Marks:
        keys = self.keys
        if self.kind == "pair":
            return tuple((keys[p], keys[v]) for p, v in _MARK.iter_unpack(data))
        return tuple((keys[p], v) for p, v in _MARK.iter_unpack(data))


def stored_ballot(decoder: Decoder, marks: bytes, weight: int, explicit: bool, defect: str | None, raw: str | None) -> Ballot:
    """The ballot a stored row stands for: its compact marks decoded, or its original record read
    again when the marks could not be encoded, or just its defect when the record was unreadable."""
    if defect:
        return Ballot(weight=weight, explicit_invalid=explicit, defect=defect)
    if raw is not None:
        parsed = parse_ballot(json.loads(raw))
        return Ballot(parsed.marks, weight, parsed.explicit_invalid, parsed.defect)
    return Ballot(decoder(marks), weight, explicit)


def pack_multiset(ballots: Mapping[Marks, int], positions: Mapping[str, int], kind: str) -> bytes:
    """A valid-ballot multiset (canonical marks -> weight), compressed for the staging table."""
    rows = sorted((base64.b64encode(encode(m, positions, kind)).decode(), w) for m, w in ballots.items())
    return zlib.compress(json.dumps(rows, separators=(",", ":")).encode(), 6)


def unpack_multiset(blob: bytes, decoder: Decoder) -> Counter:
    out: Counter = Counter()
    for marks, weight in json.loads(zlib.decompress(blob)):
        out[decoder(base64.b64decode(marks))] += weight
    return out


def merge(multisets: Iterable[Mapping[Marks, int]]) -> Counter:
    total: Counter = Counter()
    for m in multisets:
        total.update(m)
    return total
