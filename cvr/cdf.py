"""NIST SP 1500-103 cast vote records (the Common Data Format), in JSON or XML.

Both forms may put the election's definitions (contests, their selections, candidates, reporting
units) after the records, so a file is read once: records met before the definitions are complete
are spooled to a temporary file (marshal: tuples of strings and numbers) and replayed after them.
JSON is read member by member (cvr.json_members: one `CVR` object in memory at a time), XML with
lxml's iterparse (each `CVR` element is cleared once read). Several files are several sources;
each maps its own selection ids.

In a record, the current snapshot's choices for the configured contest are read: each indicated
selection position at its `Rank` (1 when the format gives none) becomes a mark of the selection's
candidate (by name, then the configuration's aliases); a write-in selection is the undeclared
write-in. A record that does not hold the contest is not a ballot of it. A rank that is not a
whole number makes that record `malformed-marks` (kept, counted invalid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from counting.ballots import Ballot

from . import cdf_json, cdf_xml
from .cdf_parts import DEFINITIONS, CdfContest, Contests, Position
from .errors import CvrError
from .records import Names, Notes, Record
from .export import Export, ExportCandidate, ExportContest, ExportRecord
from .source import Source
from .spool import WHOLE, Pending

DISTINCT_KEPT = 100_000  # distinct record contents remembered, each with its ballot
_UNSEEN = object()


@dataclass
class _Definitions:
    contest: CdfContest
    units: dict[str, str]  # reporting unit id -> name


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    form = cdf_xml if source.path.suffix.lower() == ".xml" else cdf_json
    ballots: _Ballots | None = None
    pending = Pending(fields=2)
    try:
        for kind, value in form.read(source):
            if kind == DEFINITIONS:
                contests, units, _ = value
                ballots = _Ballots(_definitions(source, contests, units), names)
                for (number, contests), (_, unit) in pending.replay():
                    record = ballots.record(contests, unit, number)
                    if record is not None:
                        yield record
            elif ballots is None:
                pending.add(value)
            else:
                record = ballots.record(*value)
                if record is not None:
                    yield record
    finally:
        pending.close()


class _Ballots:
    """Records of the configured contest as ballots: each distinct content made a Ballot once."""

    def __init__(self, definitions: _Definitions, names: Names):
        self.definitions, self.names = definitions, names
        self.by_content: dict[Contests, Ballot | None] = {}
        self.by_number: dict[int, Ballot | None] = {}

    def record(self, contests: Contests, unit: str | None, number: int = WHOLE) -> Record | None:
        if number != WHOLE:
            ballot = self.by_number.get(number, _UNSEEN)
            if ballot is _UNSEEN:
                ballot = self.by_number[number] = self._ballot(contests)
        else:
            try:
                ballot = self.by_content.get(contests, _UNSEEN)
            except TypeError:  # a rank or an id that is a list or an object
                ballot = self._ballot(contests)
            else:
                if ballot is _UNSEEN:
                    ballot = self._ballot(contests)
                    if len(self.by_content) < DISTINCT_KEPT:
                        self.by_content[contests] = ballot
        if ballot is None:
            return None
        return Record(ballot, self.definitions.units.get(unit, unit) if unit else None)

    def _ballot(self, contests: Contests) -> Ballot | None:
        """The ballot of the configured contest, or None for a record that does not hold it."""
        wanted = self.definitions.contest.id
        for contest, positions in contests:
            if contest == wanted:
                return _ballot(positions, self.definitions.contest, self.names)
        return None


VARIATIONS = {"rcv": "instant-runoff", "approval": "approval", "plurality": "plurality-at-large",
              "n-of-m": "plurality-at-large", "cumulative": "cumulative", "borda": "borda"}


def read_export(source: Source, export: Export) -> Iterator[ExportRecord]:
    """Every contest of the file, its candidates by their CDF ids (a write-in selection's candidate,
    or the selection itself, is the contest's write-in), areas the reporting units records name
    (a split under its precinct)."""
    form = cdf_xml if source.path.suffix.lower() == ".xml" else cdf_json
    mapped: _Exported | None = None
    pending = Pending(fields=2)
    try:
        for kind, value in form.read(source):
            if kind == DEFINITIONS:
                mapped = _Exported(export, *value)
                for (_, contests), (_, unit) in pending.replay():
                    yield from mapped.records(contests, unit)
            elif mapped is None:
                pending.add(value)
            else:
                yield from mapped.records(*value)
    finally:
        pending.close()


class _Exported:
    def __init__(self, export: Export, contests: list[CdfContest], units: dict[str, str], parents: dict[str, str]):
        self.export, self.units, self.parents = export, units, parents
        self.contests = {c.id: c for c in contests}
        for contest in contests:
            entry = export.contests[contest.id] = ExportContest(
                id=contest.id, name=contest.name or contest.id, seats=contest.seats, votes_allowed=contest.votes_allowed,
                method=VARIATIONS.get((contest.vote_variation or "").lower()))
            for selection, (name, write_in) in contest.selections.items():
                candidate = contest.candidate_of.get(selection, selection)
                entry.candidates[candidate] = ExportCandidate(candidate, name or candidate, write_in)

    def records(self, contests: Contests, unit: str | None) -> Iterator[ExportRecord]:
        area = self._area(unit)
        for key, positions in contests:
            contest = self.contests.get(key)
            entry = self.export.contests.get(key) or self.export.contests.setdefault(key, ExportContest(key, key))
            marks = _export_marks(positions, contest)
            if marks is None:
                yield ExportRecord(key, area, (), "malformed-marks")
                continue
            for _, rank in marks:
                entry.highest_rank = max(entry.highest_rank, rank)
            yield ExportRecord(key, area, marks)

    def _area(self, unit: str | None) -> str | None:
        if not unit:
            return None
        parent = self.parents.get(unit)
        parent_key = self.export.area(self.units.get(parent, parent), self.units.get(parent, parent)) if parent else None
        name = self.units.get(unit, unit)
        return self.export.area(name, name, parent_key)


def _export_marks(positions: tuple[Position, ...], contest: CdfContest | None) -> tuple[tuple[str, int], ...] | None:
    marks = []
    for selection, rank, indicated, write_in in positions:
        if not indicated:
            continue
        rank = _rank(rank)
        if rank is None or not isinstance(selection, (str, type(None))) or not isinstance(write_in, (str, type(None))):
            return None
        if contest is not None and selection in contest.selections:
            marks.append((contest.candidate_of.get(selection, selection), rank))
        elif selection:
            marks.append((selection, rank))  # a selection the definitions do not list: an unknown candidate
        else:  # a write-in without a selection: the contest's write-in candidate, if it has one
            written = contest and next((contest.candidate_of.get(s, s) for s, (_, w) in contest.selections.items() if w), None)
            marks.append((written or write_in or "write-in", rank))
    return tuple(marks)


def _rank(rank) -> int | None:
    """A position's rank (1 when it has none), None when it is not a whole number."""
    if rank in (None, ""):
        return 1
    if isinstance(rank, bool) or (isinstance(rank, float) and not rank.is_integer()):
        return None
    try:
        return int(rank)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a rank of 1e400 reads as infinity
        return None


def _definitions(source: Source, contests: list[CdfContest], units: dict[str, str]) -> _Definitions:
    wanted = source.contest_id
    matches = [c for c in contests if wanted in (c.name, c.id)] if wanted else contests
    if len(matches) != 1:
        known = ", ".join(repr(c.name or c.id) for c in contests) or "none"
        why = "names no contest of the file" if not matches else "matches several contests"
        raise CvrError(source.path, "", "contestId", f"{wanted!r} {why} (contests: {known})")
    return _Definitions(matches[0], units)


def _ballot(positions: tuple[Position, ...], contest: CdfContest, names: Names) -> Ballot:
    marks = []
    for selection, rank, indicated, write_in in positions:
        if not indicated:
            continue
        rank = _rank(rank)
        if rank is None or not isinstance(selection, (str, type(None))) or not isinstance(write_in, (str, type(None))):
            return Ballot(defect="malformed-marks")
        candidate, is_write_in = contest.selections.get(selection or "", (selection, False))
        if is_write_in or (write_in is not None and not selection):
            # the undeclared write-in candidate; without one, the name written in (an unknown candidate)
            candidate = names.uwi or write_in or candidate or "write-in"
        else:
            candidate = names.resolve(candidate or "")
        if candidate is None:
            continue
        marks.append((candidate, rank))
    return Ballot(marks=tuple(marks))
