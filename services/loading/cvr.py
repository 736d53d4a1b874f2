"""Loading cast vote records into an election: from an RCTab configuration (the election, its
contest, candidates and rules are created or extended from it) or from one CVR source for a
contest that exists (`tally load --cvr`).

Precincts become areas under one root area (`root`); a record without precinct data is the root's.
A CVR is read once, its records spooled (cvr.spool: each distinct content numbered, the records
written as numbers to a temporary file) while its precincts are collected; the areas are created,
then the records go through the loader (`load_ballots`) as one load. Memory holds the distinct
precincts and contents and the loader's per-record references, never the records.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy.orm import Session

import models as m
from cvr.providers import READERS, read_all
from cvr.rctab_config import read_config, source_of
from cvr.records import Names, Notes, Record
from cvr.spool import WHOLE, Pending

from services.loading.ballots import load_ballots

from services.loading.definition import contest_row

from services.loading.fields import LoadError
from services.elections import election_by_key
from services.limits import KEY_LIMIT

ROOT = "root"
# A CVR import has no polling hours: its period stays open until the operator seals it (`tally
# seal E P`, which closes it: its ballots are imported, so it is sealed by hand) and tallies it.
OPEN_UNTIL = datetime(9999, 12, 31, tzinfo=timezone.utc)


@dataclass
class CvrLoadReport:
    election_key: str
    election_id: int
    period: str
    period_id: int
    contest: str
    loaded: int = 0
    stored_raw: int = 0
    batch_id: int | None = None
    areas: set[str] = field(default_factory=set)
    notes: Notes = field(default_factory=Notes)  # records the readers left out, and why


def load_rctab(
    session: Session, config: str | Path, election_key: str, period_name: str = "main", allow_duplicate: bool = False,
    allow_outside_paths: bool = False, small_batch: bool = False,
) -> CvrLoadReport:
    """Create (or extend) the election from the configuration, then load its CVR sources as one
    load batch (named after the configuration; the same ballots again are refused unless
    `allow_duplicate`). Sources outside the configuration's folder are refused unless `allow_outside_paths`."""
    plan = read_config(config, allow_outside_paths)
    election = election_for(session, election_key, plan.output.get("contestName") or election_key)
    period = period_for(election, period_name)
    name = plan.output.get("contestName") or plan.contest["id"]
    contest = ensure_contest(session, election, {**plan.contest, "name": name})
    notes = Notes()
    records = read_all(plan.sources, plan.names, notes)
    return _load(session, election, period, contest, records, Path(config).name, allow_duplicate, notes, small_batch)


def load_cvr(
    session: Session, path: str | Path, provider: str, election_key: str, contest_key: str,
    period_name: str = "main", options: dict | None = None, allow_duplicate: bool = False, small_batch: bool = False,
) -> CvrLoadReport:
    """Load one CVR source into an existing contest, mapping its choices to the contest's
    candidates by id or by name (an undeclared write-in candidate takes the write-ins). `options`
    are RCTab's source settings (`firstVoteColumnIndex`, `precinctColumnIndex`, the labels, ...)."""
    if provider not in READERS:
        raise LoadError(f"--provider: unknown provider {provider!r} (known: {', '.join(READERS)})")
    election = election_by_key(session, election_key)
    if election is None:
        raise LoadError(f"--election: unknown election {election_key!r}")
    contest = next((c for c in election.contests if c.key == contest_key), None)
    if contest is None:
        raise LoadError(f"--contest: election {election_key!r} has no contest {contest_key!r}")
    period = period_for(election, period_name)
    source = replace(source_of(provider, path, options or {}), max_rankings=contest.max_votes)
    uwi = next((c.key for c in contest.candidates if c.undeclared_write_in), None)
    names = Names(
        [(c.key, [c.name] if c.name else []) for c in contest.candidates if not c.undeclared_write_in],
        uwi=uwi,
        uwi_labels=[source.uwi_label],
        overvote_labels=[source.overvote_label],
        skipped_labels=[source.skipped_rank_label],
    )
    notes = Notes()
    return _load(session, election, period, contest, read_all([source], names, notes), Path(path).name,
                 allow_duplicate, notes, small_batch)


# ---------------------------------------------------------------------------------------------


def election_for(session: Session, key: str, name: str) -> m.Election:
    election = election_by_key(session, key)
    if election is None:
        election = m.Election(key=key, name=name)
        election.areas.append(m.Area(key=ROOT, name=name, census=0, weight=1))
        session.add(election)
        session.flush()
    return election


def period_for(election: m.Election, name: str) -> m.VotingPeriod:
    period = next((p for p in election.periods if p.name == name), None)
    if period is None:
        period = m.VotingPeriod(name=name, ends_at=OPEN_UNTIL, seal_mode=m.SEAL_MANUAL)
        election.periods.append(period)
    return period


def root_of(election: m.Election) -> m.Area:
    root = next((a for a in election.areas if a.key == ROOT), None)
    if root is None:
        roots = [a for a in election.areas if a.parent_id is None and a.parent is None]
        if len(roots) != 1:
            raise LoadError(f"--election: election {election.key!r} has no single root area to put precincts under")
        root = roots[0]
    return root


def ensure_contest(session: Session, election: m.Election, definition: dict) -> m.Contest:
    """The contest of `definition` (interchange JSON, with its `name`): created on the election's areas, or, when
    the election already has it, checked to be the same contest (same candidates, method and rules)."""
    existing = next((c for c in election.contests if c.key == definition["id"]), None)
    areas = {a.key: a for a in election.areas}
    if existing is None:
        contest = contest_row({**definition, "areas": list(areas)}, len(election.contests), areas)
        election.contests.append(contest)
        session.flush()
        return contest
    if ([c.key for c in existing.candidates] != [c["id"] for c in definition["candidates"]]
            or existing.method != definition["method"] or dict(existing.options) != definition["options"]):
        raise LoadError(f"contest {existing.key!r}: election {election.key!r} has it with other candidates or rules")
    return existing


def _load(session, election, period, contest, records: Iterator[Record], source: str, allow_duplicate: bool,
          notes: Notes, small_batch: bool) -> CvrLoadReport:
    """Read the CVR once, spooling its records to a temporary file while collecting its precincts;
    create the precincts' areas; then hand the spooled records to the loader in one load. The
    definition is thus complete before the first ballot is stored, and memory holds the distinct
    precincts and the loader's per-record references, never the records themselves."""
    session.flush()
    report = CvrLoadReport(election.key, election.id, period.name, period.id, contest.key, notes=notes)
    root = root_of(election)
    pending = Pending(fields=3)
    try:
        precincts: dict[str, str] = {}
        for record in records:
            key = area_key(record.precinct)
            if key is not None and key not in precincts:
                precincts[key] = record.precinct
            pending.add((key, record.ballot.marks, record.ballot.defect))
        _ensure_areas(session, election, contest, root, precincts)
        result = load_ballots(session, election.key, period.name, _records(contest.key, pending.replay(), root.key),
                              source=source, allow_duplicate=allow_duplicate, extends_definition=True,
                              small_batch=small_batch)
    finally:
        pending.close()
    report.loaded, report.stored_raw, report.batch_id = result.loaded, result.stored_raw, result.batch_id
    report.areas = set(precincts) or {root.key}
    return report


def area_key(precinct: str | None) -> str | None:
    return None if precinct is None else precinct[:KEY_LIMIT]


def _ensure_areas(session, election, contest, root, precincts: dict) -> None:
    known = {a.key: a for a in election.areas}
    styled = {s.area_id for s in contest.ballot_styles}
    added = False
    for key, precinct in precincts.items():
        area = known.get(key)
        if area is None:
            area = known[key] = m.Area(key=key, name=precinct, census=0, weight=1, parent=root)
            election.areas.append(area)
            added = True
        if area.id is None or area.id not in styled:
            contest.ballot_styles.append(m.BallotStyle(area=area, area_annotations={}))
            added = True
    if added:
        session.flush()


def _records(contest_key: str, spooled: Iterable[tuple], root_key: str) -> Iterator[dict]:
    """The loader's records: a ballot the reader could not read whole is passed on with its reason
    in place of its marks, so the loader keeps it verbatim and the count classifies it invalid. Each
    distinct content is made once (the spool numbers them) and shared by the records that hold it."""
    made: dict[tuple[int, int], object] = {}
    for (_, key), (marks_number, marks), (defect_number, defect) in spooled:
        content = made.get((marks_number, defect_number)) if marks_number != WHOLE else None
        if content is None:
            content = {"unreadable": defect} if defect else [list(mark) for mark in marks]
            if marks_number != WHOLE and defect_number != WHOLE:
                made[(marks_number, defect_number)] = content
        yield {"contest": contest_key, "area": key or root_key, "marks": content}
