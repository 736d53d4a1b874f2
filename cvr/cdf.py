"""NIST SP 1500-103 cast vote records (the Common Data Format), in JSON or XML.

Both forms put the election's definitions (contests, their selections, candidates, reporting
units) after the records, so a file is read twice: once for the definitions, keeping nothing
else, then record by record. JSON is read with ijson (an incremental parser over the C yajl
library: one `CVR` object in memory at a time), XML with lxml's iterparse (each `CVR` element is
cleared once read). Several files are several sources; each maps its own selection ids.

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
from .cdf_parts import CdfContest, Position
from .errors import CvrError
from .records import Names, Record
from .source import Source


@dataclass
class _Definitions:
    contest: CdfContest
    units: dict[str, str]  # reporting unit id -> name


def read(source: Source, names: Names) -> Iterator[Record]:
    form = cdf_xml if source.path.suffix.lower() == ".xml" else cdf_json
    definitions = _definitions(source, *form.definitions(source))
    for snapshot_contests, unit in form.records(source):
        positions = snapshot_contests.get(definitions.contest.id)
        if positions is None:
            continue
        yield Record(_ballot(positions, definitions.contest, names), definitions.units.get(unit, unit) if unit else None)


def _definitions(source: Source, contests: list[CdfContest], units: dict[str, str]) -> _Definitions:
    wanted = source.contest_id
    matches = [c for c in contests if wanted in (c.name, c.id)] if wanted else contests
    if len(matches) != 1:
        known = ", ".join(repr(c.name or c.id) for c in contests) or "none"
        why = "names no contest of the file" if not matches else "matches several contests"
        raise CvrError(source.path, "", "contestId", f"{wanted!r} {why} (contests: {known})")
    return _Definitions(matches[0], units)


def _ballot(positions: list[Position], contest: CdfContest, names: Names) -> Ballot:
    marks = []
    for position in positions:
        if not position.indicated:
            continue
        rank = 1 if position.rank in (None, "") else position.rank
        try:
            rank = int(rank)
        except (TypeError, ValueError):
            return Ballot(defect="malformed-marks")
        candidate, write_in = contest.selections.get(position.selection or "", (position.selection, False))
        if write_in or (position.write_in is not None and not position.selection):
            # the undeclared write-in candidate; without one, the name written in (an unknown candidate)
            candidate = names.uwi or position.write_in or candidate or "write-in"
        else:
            candidate = names.resolve(candidate or "")
        if candidate is None:
            continue
        marks.append((candidate, rank))
    return Ballot(marks=tuple(marks))
