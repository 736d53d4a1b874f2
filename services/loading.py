"""Loading election definitions and ballots from their JSON files (format: README, docs/formats.md).

A definition is checked whole before anything is written: a malformed file loads nothing.
A malformed ballot is stored as cast and counted as invalid with its reason: never dropped."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import counting
from counting.methods import METHODS
from models import entities as m
from models.marks import encode

from .errors import ServiceError

RAW_LIMIT = 65536  # longest original record kept verbatim; longer ones are oversized anyway


class LoadError(ServiceError):
    """A definition or ballot file that cannot be loaded; names the field or record."""


def _field(obj: Mapping, key: str, kind, where: str, required: bool = True, default=None):
    if key not in obj or obj[key] is None:
        if required:
            raise LoadError(f"{where}.{key}: is required")
        return default
    value = obj[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise LoadError(f"{where}.{key}: must be an integer, got {value!r}")
    if kind is not int and not isinstance(value, kind):
        raise LoadError(f"{where}.{key}: must be of type {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _time(obj: Mapping, key: str, where: str, required: bool) -> datetime | None:
    value = _field(obj, key, str, where, required)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LoadError(f"{where}.{key}: not an ISO 8601 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@dataclass
class DefinitionReport:
    election_id: int
    election_key: str
    periods: int
    contests: int
    areas: int


def load_definition(session: Session, doc: Any) -> DefinitionReport:
    """Create an election from its definition document, all or nothing."""
    if not isinstance(doc, Mapping):
        raise LoadError("definition: must be a JSON object")
    e = _field(doc, "election", Mapping, "definition")
    key = str(_field(e, "id", (str, int), "election"))
    if session.scalar(select(m.Election.id).where(m.Election.key == key)) is not None:
        raise LoadError(f"election.id: an election {key!r} already exists")
    election = m.Election(key=key, name=_field(e, "name", str, "election", False, key))

    periods = _field(doc, "voting_periods", list, "definition")
    if not periods:
        raise LoadError("definition.voting_periods: at least one voting period is required")
    names = set()
    for i, p in enumerate(periods):
        where = f"voting_periods[{i}]"
        if not isinstance(p, Mapping):
            raise LoadError(f"{where}: must be an object")
        name = _field(p, "name", str, where)
        if name in names:
            raise LoadError(f"{where}.name: duplicate period name {name!r}")
        names.add(name)
        starts, ends = _time(p, "starts_at", where, False), _time(p, "ends_at", where, True)
        if starts and ends <= starts:
            raise LoadError(f"{where}.ends_at: must be after starts_at")
        election.periods.append(m.VotingPeriod(name=name, starts_at=starts, ends_at=ends))

    areas_by_key = _areas(doc, election)
    contests = _field(doc, "contests", list, "definition")
    if not contests:
        raise LoadError("definition.contests: at least one contest is required")
    contest_keys = set()
    for i, raw in enumerate(contests):
        row = _contest(raw, i, areas_by_key)
        if row.key in contest_keys:
            raise LoadError(f"contests[{i}].id: duplicate contest id {row.key!r}")
        contest_keys.add(row.key)
        election.contests.append(row)
    session.add(election)
    session.flush()
    return DefinitionReport(election.id, key, len(periods), len(contests), len(areas_by_key))


def _areas(doc: Mapping, election: m.Election) -> dict[str, m.Area]:
    raw_areas = _field(doc, "areas", list, "definition")
    if not raw_areas:
        raise LoadError("definition.areas: at least one area is required")
    by_key: dict[str, m.Area] = {}
    parents: dict[str, str | None] = {}
    for i, a in enumerate(raw_areas):
        where = f"areas[{i}]"
        if not isinstance(a, Mapping):
            raise LoadError(f"{where}: must be an object")
        key = str(_field(a, "id", (str, int), where))
        if key in by_key:
            raise LoadError(f"{where}.id: duplicate area id {key!r}")
        census = _field(a, "census", int, where, False, 0)
        weight = _field(a, "weight", int, where, False, 1)
        if census < 0:
            raise LoadError(f"{where}.census: must be at least 0")
        if weight < 1:
            raise LoadError(f"{where}.weight: must be at least 1")
        area = m.Area(key=key, name=_field(a, "name", str, where, False, key), census=census, weight=weight)
        by_key[key] = area
        parent = a.get("parent")
        parents[key] = None if parent is None else str(parent)
        election.areas.append(area)
    for i, (key, parent) in enumerate(parents.items()):
        if parent is None:
            continue
        if parent not in by_key:
            raise LoadError(f"areas[{i}].parent: unknown area {parent!r}")
        by_key[key].parent = by_key[parent]
    _check_tree(parents)
    return by_key


def _check_tree(parents: Mapping[str, str | None]) -> None:
    for start in parents:
        seen, node = set(), start
        while node is not None:
            if node in seen:
                raise LoadError(f"areas: the parent links of {start!r} form a cycle")
            seen.add(node)
            node = parents[node]


def _contest(raw: Any, i: int, areas: Mapping[str, m.Area]) -> m.Contest:
    where = f"contests[{i}]"
    if not isinstance(raw, Mapping):
        raise LoadError(f"{where}: must be an object")
    try:
        contest = counting.parse_contest(raw)
    except counting.DefinitionError as exc:
        raise LoadError(f"{where}.{exc.field.removeprefix('contest.')}: {exc.message}") from None
    area_keys = raw.get("areas")
    if area_keys is None:
        area_keys = list(areas)
    if not isinstance(area_keys, list) or not area_keys:
        raise LoadError(f"{where}.areas: must be a non-empty list of area ids")
    annotations = raw.get("area_annotations") or {}
    if not isinstance(annotations, Mapping):
        raise LoadError(f"{where}.area_annotations: must be an object keyed by area id")
    for k, v in annotations.items():
        if k not in areas:
            raise LoadError(f"{where}.area_annotations: unknown area {k!r}")
        if not isinstance(v, Mapping):
            raise LoadError(f"{where}.area_annotations.{k}: must be an object")
    row = m.Contest(
        key=contest.id,
        name=raw.get("name") or contest.id,
        position=i,
        method=contest.method,
        seats=contest.seats,
        min_votes=contest.min_votes,
        max_votes=contest.max_votes,
        blank_policy=contest.blank_policy,
        options=dict(contest.options),
        annotations=dict(contest.annotations),
    )
    for pos, c in enumerate(contest.candidates):
        row.candidates.append(
            m.Candidate(
                key=c.id,
                position=pos,
                name=c.name,
                tie_break_key=c.tie_break_key,
                category=c.category,
                gender=c.gender,
                undeclared_write_in=c.undeclared_write_in,
            )
        )
    for g in contest.exclusion_groups:
        row.exclusion_groups.append(m.ExclusionGroup(name=g.name, members=list(g.members), max_elected=g.max_elected))
    seen = set()
    for key in area_keys:
        key = str(key)
        if key not in areas:
            raise LoadError(f"{where}.areas: unknown area {key!r}")
        if key in seen:
            raise LoadError(f"{where}.areas: area {key!r} listed twice")
        seen.add(key)
        row.ballot_styles.append(m.BallotStyle(area=areas[key], area_annotations=dict(annotations.get(key, {}))))
    return row


@dataclass
class BallotReport:
    loaded: int
    stored_raw: int  # records kept verbatim (they will count as invalid, with their reason)
    by_contest: dict[str, int]


def load_ballots(session: Session, election_key: str, period_name: str, records: Iterable[Any]) -> BallotReport:
    """Store ballots for one voting period. Records must name a known contest and area (else the
    whole file is refused and nothing is stored); their content is stored as cast, whatever it is."""
    election = session.scalar(select(m.Election).where(m.Election.key == election_key))
    if election is None:
        raise LoadError(f"ballots.election: unknown election {election_key!r}")
    period = next((p for p in election.periods if p.name == period_name), None)
    if period is None:
        raise LoadError(f"ballots.period: election {election_key!r} has no voting period {period_name!r}")
    live = session.scalar(
        select(func.count(m.TallyRun.id)).where(
            m.TallyRun.voting_period_id == period.id, m.TallyRun.status.in_(m.LIVE_RUN_STATUSES)
        )
    )
    if live:
        raise LoadError(f"ballots.period: period {period_name!r} is being or has been tallied; ballots are frozen")
    # Plain ids and codecs, looked up per record: ORM attribute access would cost more than the rest.
    contests = {c.key: c.id for c in election.contests}
    areas = {a.key: a.id for a in election.areas}
    allowed = {(s.contest_id, s.area_id) for c in election.contests for s in c.ballot_styles}
    codecs = {
        c.id: ({cand.key: cand.position for cand in c.candidates}, METHODS[c.method].mark_kind)
        for c in election.contests
    }
    rows = []
    stored_raw = 0
    by_contest: Counter = Counter()
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise LoadError(f"ballots[{i}]: must be an object with contest and area")
        contest_key, area_key = str(record.get("contest")), str(record.get("area"))
        contest_id, area_id = contests.get(contest_key), areas.get(area_key)
        if contest_id is None:
            raise LoadError(f"ballots[{i}].contest: unknown contest {record.get('contest')!r}")
        if area_id is None:
            raise LoadError(f"ballots[{i}].area: unknown area {record.get('area')!r}")
        if (contest_id, area_id) not in allowed:
            raise LoadError(f"ballots[{i}].area: contest {contest_key!r} is not on the ballot in area {area_key!r}")
        row = _ballot_row(record, codecs[contest_id])
        stored_raw += row[4] is not None
        rows.append((contest_id, area_id) + row)
        by_contest[contest_key] += 1
    rows.sort(key=lambda r: (r[0], r[1]))  # one area's ballots stored together: read in one pass
    insert_ballot_rows(session, period.id, rows)
    return BallotReport(len(rows), stored_raw, dict(by_contest))


def _ballot_row(record: Mapping, codec) -> tuple:
    """(marks, weight, explicit_invalid, defect, raw) for one record."""
    positions, kind = codec
    ballot = counting.parse_ballot({k: v for k, v in record.items() if k not in ("contest", "area")})
    marks = None if ballot.defect else encode(ballot.marks, positions, kind)
    if marks is not None:
        return marks, ballot.weight, ballot.explicit_invalid, None, None
    defect = ballot.defect
    try:
        raw = json.dumps({k: v for k, v in record.items() if k not in ("contest", "area")}, sort_keys=True)
    except (RecursionError, ValueError):  # nested too deeply to keep: the defect is what is kept
        raw, defect = None, defect or "malformed-record"
    if raw is not None and len(raw) > RAW_LIMIT:
        raw, defect = raw[:RAW_LIMIT], defect or "oversized-record"
    return b"", ballot.weight, ballot.explicit_invalid, defect, raw


def insert_ballot_rows(session: Session, period_id: int, rows: list[tuple]) -> None:
    """Bulk insert (contest_id, area_id, marks, weight, explicit_invalid, defect, raw) rows:
    COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        columns = "voting_period_id, contest_id, area_id, marks, weight, explicit_invalid, defect, raw"
        with cursor.copy(f"COPY ballots ({columns}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row((period_id,) + r)
        return
    session.execute(
        m.Ballot.__table__.insert(),
        [
            dict(
                voting_period_id=period_id,
                contest_id=r[0],
                area_id=r[1],
                marks=r[2],
                weight=r[3],
                explicit_invalid=r[4],
                defect=r[5],
                raw=r[6],
            )
            for r in rows
        ],
    )


def read_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{what}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise LoadError(f"{what}: JSON nested too deeply to read") from None

