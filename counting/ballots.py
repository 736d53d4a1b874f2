"""Ballots as cast, and reading them from their JSON form without ever dropping one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Mark = tuple[str, Any]  # (candidate id, rank / checks / 1, or the loser's id for pairwise-beta)
Marks = tuple[Mark, ...]

MAX_MARKS = 1000  # a record with more marks than this is malformed (oversized), not counted
MAX_VALUE = 1_000_000


@dataclass(frozen=True, slots=True)
class Ballot:
    marks: Marks = ()
    weight: int = 1
    explicit_invalid: bool = False
    defect: str | None = None  # reason code when the record itself could not be read


def parse_ballot(obj: Any) -> Ballot:
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
            pass  # pairwise-beta: the loser's id; validation decides whether a string fits the method
        else:
            return Ballot(weight=weight, explicit_invalid=explicit, defect="malformed-marks")
        marks.append((candidate, value))
    return Ballot(marks=tuple(marks), weight=weight, explicit_invalid=explicit)


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
