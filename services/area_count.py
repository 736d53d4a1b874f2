"""Counting one area from its grouped stored ballots, for the pipeline's area tasks.

Every distinct stored ballot is judged once per worker and contest, however many areas carry it:
its class and figures as one ballot of weight 1 (participation is linear in weight), and its
canonical marks when valid. An area then costs a dictionary lookup per distinct ballot."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, fields

import counting
from counting.ballots import Marks
from counting.validation import Participation, classify
from models.marks import Decoder, stored_ballot

# A grouped stored row: (marks, explicit_invalid, defect, raw, summed weight, records).
Row = tuple

_COUNTERS = ("invalid_reasons", "alerts")
_SCALED = tuple(f.name for f in fields(Participation) if f.name not in _COUNTERS + ("total_ballots",))


def scaled(unit: Participation, weight: int, records: int) -> Participation:
    """`records` ballots of summed weight `weight` that are each judged as `unit` (weight 1)."""
    return Participation(
        total_ballots=records,
        **{name: getattr(unit, name) * weight for name in _SCALED},
        **{name: Counter({k: v * weight for k, v in getattr(unit, name).items()}) for name in _COUNTERS},
    )


class StoredBallotJudge:
    """What each distinct stored ballot of one contest is, remembered."""

    LIMIT = 2_000_000  # distinct ballots remembered; a contest with more is judged afresh past it

    def __init__(self, contest: counting.Contest, decoder: Decoder):
        self.contest = contest
        self.decoder = decoder
        self.units: list[Participation] = []
        self._unit_index: dict[str, int] = {}
        self._known: dict[object, tuple[int, Marks | None]] = {}

    def __call__(self, marks: bytes, explicit: bool, defect: str | None, raw: str | None) -> tuple[int, Marks | None]:
        """(index of its unit in `units`, canonical marks if valid else None)."""
        key = marks if not explicit and defect is None and raw is None else (marks, explicit, defect, raw)
        found = self._known.get(key)
        if found is None:
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            found = self._known[key] = self._judge(stored_ballot(self.decoder, marks, 1, explicit, defect, raw))
        return found

    def _judge(self, ballot: counting.Ballot) -> tuple[int, Marks | None]:
        classification = classify(self.contest, [(ballot, 1)])
        unit = classification.participation
        text = json.dumps(unit.to_json(), sort_keys=True)
        index = self._unit_index.get(text)
        if index is None:
            index = self._unit_index[text] = len(self.units)
            self.units.append(unit)
        return index, next(iter(classification.valid), None)


@dataclass
class AreaCount:
    participation: Participation
    valid_stored: list[tuple[bytes, int]]  # stored marks of the valid ballots -> weight (area weight applied)
    valid: Counter | None  # canonical marks -> weight, when asked for


def count_area(judge: StoredBallotJudge, rows: list[Row], area_weight: int, canonical: bool) -> AreaCount:
    """One area's participation and valid ballots; `canonical` also gives the engine's multiset
    (for an area result or additive totals)."""
    weights: dict[int, int] = {}
    records: dict[int, int] = {}
    valid_stored = []
    valid: Counter | None = Counter() if canonical else None
    for marks, explicit, defect, raw, weight, count in rows:
        weight = int(weight) * area_weight
        index, marks_valid = judge(marks, explicit, defect, raw)
        weights[index] = weights.get(index, 0) + weight
        records[index] = records.get(index, 0) + count
        if marks_valid is not None:
            if raw is not None:  # a valid ballot is always stored compactly; never stage it as blank
                raise RuntimeError(f"a valid ballot has no compact marks: {raw[:200]!r}")
            valid_stored.append((marks, weight))
            if valid is not None:
                valid[marks_valid] += weight
    participation = sum(
        (scaled(judge.units[i], weights[i], records[i]) for i in sorted(weights)), Participation()
    )
    return AreaCount(participation, valid_stored, valid)
