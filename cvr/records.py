"""What every reader yields, and how a row of cast choices becomes the engine's marks.

A reader turns each cast vote record into a `Record`: the engine's `Ballot` (marks as
`(candidate id, rank)`, kept as cast: two candidates at one rank, a candidate twice, a gap, an
unknown name all reach validation unchanged) and the precinct it was cast in, if the CVR says.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

from counting.ballots import Ballot

# A cell that says "the voter overvoted this rank" without saying for whom (ES&S `overvote`).
OVERVOTE = object()


class Record(NamedTuple):  # a tuple: a million of them are made in a few seconds' reading
    ballot: Ballot
    precinct: str | None = None


@dataclass
class Notes:
    """What readers left out of the count, and why (RCTab leaves the same records out and logs them):
    printed as warnings by `tally count`, kept in a load's report."""

    left_out: Counter[str] = field(default_factory=Counter)
    counted: Counter[str] = field(default_factory=Counter)  # records counted though a person may not expect it

    def leave_out(self, why: str) -> None:
        self.left_out[why] += 1

    def count_in(self, why: str, records: int = 1) -> None:
        self.counted[why] += records

    def lines(self) -> list[str]:
        return [f"{n:,} record{'s' * (n != 1)} left out: {why}" for why, n in sorted(self.left_out.items())] + [
            f"{n:,} record{'s' * (n != 1)} counted: {why}" for why, n in sorted(self.counted.items())
        ]


class Names:
    """Resolves what a CVR writes for a choice to a candidate id: the candidate's name, one of its
    aliases (codes, vendor ids), the undeclared write-in label, the overvote label (-> OVERVOTE)
    or the skipped-rank label (-> None, a gap). An unknown string is kept as the candidate id, so
    validation counts the ballot invalid as `unknown-candidate` instead of losing it."""

    def __init__(
        self,
        candidates: Sequence[tuple[str, Sequence[str]]],
        uwi: str | None = None,
        uwi_labels: Iterable[str] = (),
        overvote_labels: Iterable[str] = (),
        skipped_labels: Iterable[str] = (),
    ):
        self.ids = [cid for cid, _ in candidates]
        self.uwi = uwi
        self.table: dict[str, object] = {}
        for cid, aliases in candidates:
            self.table[cid.strip()] = cid
            for alias in aliases:
                self.table[str(alias).strip()] = cid
        for label in uwi_labels:
            if label and uwi:
                self.table[label.strip()] = uwi
        for label in overvote_labels:
            if label:
                self.table[label.strip()] = OVERVOTE
        for label in skipped_labels:
            if label:
                self.table[label.strip()] = None

    def resolve(self, text: str) -> object:
        text = text.strip()
        return self.table.get(text, text)


def marks_of(ranks: Iterable[tuple[int, Iterable[object]]], names: Names) -> tuple[tuple[str, int], ...]:
    """The marks of one record from its resolved choices per rank. An explicit overvote (a cell that
    only says "overvote") becomes two candidates at that rank, so validation and the count see an
    overvote; they are the first candidates the ballot does not mark anywhere else, so the repeat
    rules never see them (with every candidate marked elsewhere, the first two are used)."""
    marks: list[tuple[str, int]] = []
    overvoted: list[int] = []
    for rank, choices in ranks:
        for choice in choices:
            if choice is OVERVOTE:
                overvoted.append(rank)
            elif choice is not None:
                marks.append((choice, rank))
    if overvoted:
        marked = {c for c, _ in marks}
        spare = [c for c in names.ids if c not in marked] + [c for c in names.ids if c in marked]
        for rank in overvoted:
            marks.extend((c, rank) for c in spare[:2])
    return tuple(marks)
