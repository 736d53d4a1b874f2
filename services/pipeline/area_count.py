"""Counting one area from its grouped stored ballots, for the pipeline's area tasks.

Every distinct stored ballot is judged once per worker and contest, however many areas carry it:
its class and figures as one ballot of weight 1 (participation is linear in weight), and its
canonical marks when valid. An area then costs a dictionary lookup per distinct ballot."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields

import counting
from counting.ballots import Marks
from counting.validation import Classification, Judge, Participation, classify, figures_key
from models.marks import Decoder, stored_ballot
from config.settings import load_settings

# A grouped stored row: (marks, explicit_invalid, defect, raw, summed weight, records, area id).
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


# Approximate bytes of one remembered ballot besides its stored marks and texts: the dict slots
# (here and in the engine's Judge, which remembers each verdict), the key, answer and verdict
# objects, and the canonical marks (a tuple of (candidate, value) tuples). Checked by
# tests/pipeline/test_area_count.py against tracemalloc.
_ENTRY_BYTES = 200
_MARK_BYTES = 80


class StoredBallotJudge:
    """What each distinct stored ballot of one contest is, remembered within a byte budget.

    The budget (TALLY_JUDGE_CACHE_BYTES) is for the whole worker process: every judge adds what it
    remembers to one shared count, and a judge whose next entry would pass the budget forgets
    everything it remembered and starts again (the count stays exact, the next ballots are judged
    afresh). A judge that is dropped (the pipeline keeps a few plans per process) gives its bytes back."""

    in_use = 0  # bytes remembered by every judge of this process (approximate)

    def __init__(self, contest: counting.Contest, decoder: Decoder, budget: int | None = None):
        self.contest = contest
        self.decoder = decoder
        self.engine_judge = Judge(contest)
        self.units: list[Participation] = []
        self._unit_index: dict[tuple, int] = {}
        # stored marks (a plain ballot: not spoiled, readable) or the whole row -> __call__'s answer
        self.known: dict[object, tuple[int, Marks | None]] = {}
        self.budget = budget if budget is not None else load_settings().judge_cache_bytes
        self.bytes = 0

    def __call__(self, marks: bytes, explicit: bool, defect: str | None, raw: str | None) -> tuple[int, Marks | None]:
        """(index of its unit in `units`, canonical marks if valid else None)."""
        key = marks if not explicit and defect is None and raw is None else (marks, explicit, defect, raw)
        found = self.known.get(key)
        if found is None:
            ballot = stored_ballot(self.decoder, marks, 1, explicit, defect, raw)
            found = self._judge(ballot)
            cost = _ENTRY_BYTES + len(marks) + len(defect or "") + len(raw or "") + _MARK_BYTES * len(ballot.marks)
            if StoredBallotJudge.in_use + cost > self.budget:
                self.forget()
            self.known[key] = found
            self.bytes += cost
            StoredBallotJudge.in_use += cost
        return found

    def __del__(self):
        StoredBallotJudge.in_use -= self.bytes

    def forget(self) -> None:
        """Drop every remembered ballot (the `known` dict stays the same object: count_area holds it)."""
        StoredBallotJudge.in_use -= self.bytes
        self.bytes = 0
        self.known.clear()
        self.engine_judge.verdicts.clear()  # the engine's judge remembers each verdict too

    def _judge(self, ballot: counting.Ballot) -> tuple[int, Marks | None]:
        """Its unit's index, and its canonical marks if valid. A unit is classified by the engine once
        per figures key (validation.figures_key): the verdict on the marks is all a ballot adds."""
        verdict = None if ballot.explicit_invalid or ballot.defect else self.engine_judge(ballot.marks)
        key = figures_key(ballot, verdict)
        index = self._unit_index.get(key)
        if index is None:
            unit = classify(self.contest, [(ballot, 1)], judge=self.engine_judge).participation
            index = self._unit_index[key] = len(self.units)
            self.units.append(unit)
        valid = verdict is not None and verdict[0] is None and ballot.marks
        return index, verdict[2] if valid else None


@dataclass
class AreaCount:
    participation: Participation
    valid_marks: list[bytes]  # stored marks of the distinct valid ballots
    valid_weights: list[int]  # their weights, area weight applied
    valid: Counter | None  # canonical marks -> weight, when asked for


def count_area(judge: StoredBallotJudge, rows: list[Row], area_weight: int, canonical: bool) -> AreaCount:
    """One area's participation and valid ballots; `canonical` also gives the engine's multiset
    (for an area result or additive totals). Equal to `count_area_plainly` (property-tested in
    tests/pipeline/test_area_count.py), only faster."""
    weights: dict[int, int] = {}
    records: dict[int, int] = {}
    valid_marks: list[bytes] = []
    valid_weights: list[int] = []
    valid: Counter | None = Counter() if canonical else None
    known = judge.known
    for marks, explicit, defect, raw, weight, count, _area in rows:
        weight *= area_weight
        # judge()'s lookup for a plain ballot, inlined: this runs once per grouped row
        found = None if explicit or defect is not None or raw is not None else known.get(marks)
        index, marks_valid = found or judge(marks, explicit, defect, raw)
        weights[index] = weights.get(index, 0) + weight
        records[index] = records.get(index, 0) + count
        if marks_valid is not None:
            if raw is not None:  # a valid ballot is always stored compactly; never stage it as blank
                raise RuntimeError(f"a valid ballot has no compact marks: {raw[:200]!r}")
            valid_marks.append(marks)
            valid_weights.append(weight)
            if valid is not None:
                valid[marks_valid] += weight
    participation = sum(
        (scaled(judge.units[i], weights[i], records[i]) for i in sorted(weights)), Participation()
    )
    return AreaCount(participation, valid_marks, valid_weights, valid)


def count_area_plainly(
    contest: counting.Contest, decoder: Decoder, rows: list[Row], area_weight: int
) -> Classification:
    """The readable form of `count_area`, which must give the same figures: every grouped row read back
    as the ballot it stands for, with the area's weight, and the lot classified by the engine."""
    return classify(
        contest,
        [
            (stored_ballot(decoder, marks, weight * area_weight, explicit, defect, raw), records)
            for marks, explicit, defect, raw, weight, records, _area in rows
        ],
    )
