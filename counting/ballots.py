"""Ballots as cast, and reading them from their JSON form without ever dropping one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Mark = tuple[str, Any]  # (candidate id, rank / checks / 1, or the loser's id for pairwise-beta)
Marks = tuple[Mark, ...]

MAX_MARKS = 1000  # a record with more marks than this is malformed (oversized), not counted
MAX_VALUE = 1_000_000
# The longest record, as read (`record_json`), in characters: a longer one is oversized, not counted. Part of the
# interchange format (docs/interchange.md), so `tally count`, the loader and `tally verify` judge records alike;
# the loader keeps the original JSON of records it cannot store compactly, and none longer than this.
MAX_RECORD_CHARS = 65_536
# Bounds on a record's JSON length without writing it: the object around the marks with the longest weight, a
# mark's brackets, quotes, separators and integer value, and one character written as at most 12 (\ud83d\ude00).
_ENVELOPE, _PER_MARK, _PER_CHAR = 59, 18, 12
# So a record whose marks' strings hold no more characters than this always fits, whatever its marks.
_CHARS_ALWAYS_FIT = (MAX_RECORD_CHARS - _ENVELOPE - _PER_MARK * MAX_MARKS) // _PER_CHAR


@dataclass(frozen=True, slots=True)
class Ballot:
    marks: Marks = ()
    weight: int = 1
    explicit_invalid: bool = False
    defect: str | None = None  # reason code when the record itself could not be read


def parse_ballot(obj: Any) -> Ballot:  # noqa: C901 (once per record read: its checks inline)
    """Read one ballot record. A record that cannot be read becomes a Ballot with a `defect`,
    so it is counted as implicitly invalid with that reason instead of being lost."""
    if not isinstance(obj, Mapping):
        return Ballot(defect="malformed-record")
    weight = obj.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1 or weight > MAX_VALUE:
        return Ballot(defect="malformed-weight")
    explicit = obj.get("explicit_invalid", False)
    if not isinstance(explicit, bool):
        return Ballot(weight=weight, defect="malformed-record")
    raw_marks = obj.get("marks", [])
    if not isinstance(raw_marks, list):
        return Ballot(weight=weight, explicit_invalid=explicit, defect="malformed-marks")
    if len(raw_marks) > MAX_MARKS:
        return Ballot(weight=weight, explicit_invalid=explicit, defect="oversized-record")
    marks = []
    chars = 0  # characters of the marks' strings, for the cheap bound on the record's size
    for mark in raw_marks:
        if not isinstance(mark, (list, tuple)) or len(mark) != 2:
            return Ballot(weight=weight, explicit_invalid=explicit, defect="malformed-marks")
        candidate, value = mark
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            candidate = str(candidate)
        if not isinstance(candidate, str) or isinstance(value, bool):
            return Ballot(weight=weight, explicit_invalid=explicit, defect="malformed-marks")
        if isinstance(value, int):
            if abs(value) > MAX_VALUE:
                return Ballot(weight=weight, explicit_invalid=explicit, defect="value-out-of-range")
        elif isinstance(value, str):
            chars += len(value)  # pairwise-beta: the loser's id; validation decides whether a string fits the method
        else:
            return Ballot(weight=weight, explicit_invalid=explicit, defect="malformed-marks")
        chars += len(candidate)
        marks.append((candidate, value))
    ballot = Ballot(marks=tuple(marks), weight=weight, explicit_invalid=explicit)
    if chars > _CHARS_ALWAYS_FIT and oversized(ballot):
        return Ballot(weight=weight, explicit_invalid=explicit, defect="oversized-record")
    return ballot


def record_json(ballot: Ballot) -> str:
    """A readable record as read: `{"explicit_invalid", "marks", "weight"}` as JSON with sorted keys, the
    default `, ` and `: ` separators and every non-ASCII character escaped. Its length is what the record-size
    limit measures; fields the format does not define are not read, so they do not count."""
    return json.dumps(
        {"explicit_invalid": ballot.explicit_invalid, "marks": [list(m) for m in ballot.marks], "weight": ballot.weight},
        sort_keys=True,
    )


def oversized(ballot: Ballot) -> bool:
    """Longer than MAX_RECORD_CHARS as read: counted invalid (`oversized-record`) wherever it is judged."""
    return len(record_json(ballot)) > MAX_RECORD_CHARS


def parse_ballots(objs: Iterable[Any]) -> list[Ballot]:
    return [parse_ballot(o) for o in objs]


def ballot_json(ballot: Ballot) -> dict:
    out: dict[str, Any] = {"marks": [list(m) for m in ballot.marks]}
    if ballot.weight != 1:
        out["weight"] = ballot.weight
    if ballot.explicit_invalid:
        out["explicit_invalid"] = True
    if ballot.defect:
        out["defect"] = ballot.defect
    return out
