"""Loading a whole voting-system export into an election in one pass (`tally load --cvr PATH
--provider P --election KEY`, without `--contest`; cvr.export reads it).

The export is read once, its records spooled (cvr.spool) while its contests, candidates and areas
are collected. Then, before any ballot is stored, the election is made ready for them: created if
it does not exist; its areas extended with the export's precincts (under the root) and precinct
portions (under their precinct); each contest created from what the export says (cvr.export's rules)
or, when the election already has it (the same id or name), matched to it: every candidate the
export lists must be one of the contest's (by id or name; a write-in is the contest's undeclared
write-in), else the load is refused naming it. Each contest may be voted in the areas its records
came from (ballot styles). Then every record goes to the loader as one load batch, all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sqlalchemy.orm import Session

import models as m
from cvr.export import Export, ExportContest, read_export
from cvr.rctab_config import source_of
from cvr.records import Notes
from cvr.spool import WHOLE, Pending
from services.loading.ballots import load_ballots
from services.loading.cvr import area_key, election_for, period_for, root_of
from services.loading.definition import contest_row
from services.loading.fields import LoadError


@dataclass
class ExportLoadReport:
    election_key: str
    election_id: int
    period: str
    period_id: int
    contests: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)  # the contests this load defined
    loaded: int = 0
    stored_raw: int = 0
    batch_id: int | None = None
    areas: set[str] = field(default_factory=set)
    notes: Notes = field(default_factory=Notes)


def load_export(
    session: Session, path: str | Path, provider: str, election_key: str, period_name: str = "main",
    options: dict | None = None, allow_duplicate: bool = False, small_batch: bool = False,
) -> ExportLoadReport:
    source = source_of(provider, path, options or {})
    export = Export()
    pending = Pending(fields=4)
    voted: set[tuple[str, str | None]] = set()  # (contest, area) pairs the records hold
    try:
        for record in read_export(source, export):
            pending.add(record)
            voted.add((record.contest, record.area))
        election = election_for(session, election_key, election_key)
        period = period_for(election, period_name)
        root = root_of(election)
        areas = _ensure_areas(session, election, export, root)
        report = ExportLoadReport(election.key, election.id, period.name, period.id, notes=export.notes)
        contests = {}
        for contest in export.contests.values():
            where = {areas[a] if a is not None else root for c, a in voted if c == contest.id}
            contests[contest.id] = _ensure_contest(session, election, contest, where or {root}, report)
        session.flush()
        records = _records(pending.replay(), contests, areas, root.key)
        result = load_ballots(session, election.key, period.name, records, source=Path(path).name,
                              allow_duplicate=allow_duplicate, extends_definition=True, small_batch=small_batch)
    finally:
        pending.close()
    report.loaded, report.stored_raw, report.batch_id = result.loaded, result.stored_raw, result.batch_id
    report.contests = [contests[c].contest.key for c in export.contests]
    report.areas = {areas[a].key if a is not None else root.key for _, a in voted}
    return report


@dataclass
class _Target:
    """An export contest as the election holds it: its contest and the export's candidate ids -> its keys."""

    contest: m.Contest
    candidates: dict[str, str]


def _ensure_areas(session: Session, election: m.Election, export: Export, root: m.Area) -> dict[str, m.Area]:
    known = {a.key: a for a in election.areas}
    out: dict[str, m.Area] = {}

    def place(key: str) -> m.Area:
        if key in out:
            return out[key]
        area = export.areas[key]
        parent = place(area.parent) if area.parent is not None and area.parent in export.areas else root
        row = known.get(area_key(key))
        if row is None:
            row = known[area_key(key)] = m.Area(key=area_key(key), name=area.name, census=0, weight=1, parent=parent)
            election.areas.append(row)
        out[key] = row
        return row

    for key in export.areas:
        place(key)
    session.flush()
    return out


def _ensure_contest(session: Session, election: m.Election, contest: ExportContest, areas: set[m.Area],
                    report: ExportLoadReport) -> _Target:
    existing = next((c for c in election.contests if c.key == contest.id), None) or next(
        (c for c in election.contests if c.name == contest.name), None)
    if existing is None:
        if contest.undefined:
            raise LoadError(f"contest {contest.name!r} (id {contest.id!r}): {contest.undefined}; define it first "
                            "(tally load --definition) with this id or name")
        row = contest_row(_definition(contest, areas), len(election.contests), {a.key: a for a in areas})
        election.contests.append(row)
        report.created.append(row.key)
        return _Target(row, {c.id: c.id for c in contest.candidates.values()})
    styled = {s.area_id for s in existing.ballot_styles}
    for area in areas:
        if area.id not in styled:
            existing.ballot_styles.append(m.BallotStyle(area=area, area_annotations={}))
    return _Target(existing, _matched(existing, contest))


def _definition(contest: ExportContest, areas: set[m.Area]) -> dict:
    write_in = next((c.id for c in contest.candidates.values() if c.write_in), None)
    return {
        "id": contest.id, "name": contest.name, **contest.rules(), "areas": sorted(a.key for a in areas),
        "candidates": [{"id": c.id, "name": c.name, **({"undeclared_write_in": True} if c.id == write_in else {})}
                       for c in contest.candidates.values()],
    }


def _matched(existing: m.Contest, contest: ExportContest) -> dict[str, str]:
    by_key = {c.key: c.key for c in existing.candidates}
    by_name = {c.name: c.key for c in existing.candidates}
    write_in = next((c.key for c in existing.candidates if c.undeclared_write_in), None)
    out = {}
    for candidate in contest.candidates.values():
        key = by_key.get(candidate.id) or by_name.get(candidate.name) or (write_in if candidate.write_in else None)
        if key is None:
            raise LoadError(f"contest {existing.key!r}: the export's candidate {candidate.name!r} (id {candidate.id!r}) "
                            f"is not one of the election's ({', '.join(sorted(by_key))})")
        out[candidate.id] = key
    return out


def _records(spooled, contests: dict[str, _Target], areas: dict[str, m.Area], root_key: str) -> Iterator[dict]:
    """The loader's records, each distinct content made once; a candidate the export does not list
    stays as written (counted invalid: unknown candidate)."""
    made: dict[tuple[int, int, int], object] = {}
    for (_, contest), (_, area), (marks_number, marks), (defect_number, defect) in spooled:
        target = contests[contest]
        key = (id(target), marks_number, defect_number)
        content = made.get(key) if WHOLE not in (marks_number, defect_number) else None
        if content is None:
            mapped = target.candidates
            content = {"unreadable": defect} if defect else [[mapped.get(c, c), rank] for c, rank in marks]
            if WHOLE not in (marks_number, defect_number):
                made[key] = content
        yield {"contest": target.contest.key, "area": areas[area].key if area is not None else root_key, "marks": content}
