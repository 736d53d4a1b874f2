"""Loading an election's definition (docs/formats.md): checked whole, then written, all or nothing;
loaded again, a no-op when its hash is unchanged and refused once ballots were loaded under another."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

import counting
from models import entities as m
from services import definition
from services.elections import election_by_key
from services.limits import GENDER_LIMIT, INT32_MAX, INT64_MAX, KEY_LIMIT, NAME_LIMIT, unstorable
from services.loading.fields import LoadError, read_field, read_key, check_within

# The years a period may fall in, and how deep a definition may nest: a clear error naming the
# field instead of a database exception or an exhausted stack (the columns' limits: services.limits).
YEARS = (1900, 9999)
NESTING_LIMIT = 64


def _check_values(doc: Any) -> None:
    """Every value of the document, wherever it is: text that PostgreSQL can store (no NUL, no
    lone surrogate) and finite numbers (NaN and Infinity are not JSON and not votes). Iterative,
    with a depth limit, so a hostile document is refused instead of exhausting the stack."""
    todo = [(doc, "definition", 0)]
    while todo:
        value, where, depth = todo.pop()
        if depth > NESTING_LIMIT:
            raise LoadError(f"{where}: nested more than {NESTING_LIMIT} levels deep")
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, float) and not math.isfinite(value):
            raise LoadError(f"{where}: must be a finite number, got {value!r}")
        elif isinstance(value, Mapping):
            for k, v in value.items():
                _check_text(str(k), f"{where} (key {k!r})")
                todo.append((v, f"{where}.{k}" if where != "definition" else str(k), depth + 1))
        elif isinstance(value, list):
            todo.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))


def _check_text(value: str, where: str) -> None:
    reason = unstorable(value)
    if reason:
        raise LoadError(f"{where}: {reason}")


def _time(obj: Mapping, key: str, where: str, required: bool) -> datetime | None:
    value = read_field(obj, key, str, where, required)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise LoadError(f"{where}.{key}: not an ISO 8601 time: {value!r}") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    low, high = YEARS
    try:
        in_utc = parsed.astimezone(timezone.utc)
    except OverflowError:
        in_utc = None
    if in_utc is None or not (low <= parsed.year <= high and low <= in_utc.year <= high):
        raise LoadError(f"{where}.{key}: {value!r} is outside the years {low}-{high}")
    return parsed


@dataclass
class DefinitionReport:
    election_id: int
    election_key: str
    periods: int
    contests: int
    areas: int
    unchanged: bool = False  # the election existed with exactly this definition: nothing was written


def load_definition(session: Session, doc: Any) -> DefinitionReport:
    """Create an election from its definition document, all or nothing."""
    if not isinstance(doc, Mapping):
        raise LoadError("definition: must be a JSON object")
    _check_values(doc)
    e = read_field(doc, "election", Mapping, "definition")
    key = read_key(e, "election")
    existing = election_by_key(session, key)
    if existing is not None:
        return _reloaded(session, doc, existing)
    election = m.Election(key=key, name=read_field(e, "name", str, "election", False, key, limit=NAME_LIMIT))

    periods = read_field(doc, "voting_periods", list, "definition")
    if not periods:
        raise LoadError("definition.voting_periods: at least one voting period is required")
    names = set()
    for i, p in enumerate(periods):
        where = f"voting_periods[{i}]"
        if not isinstance(p, Mapping):
            raise LoadError(f"{where}: must be an object")
        name = read_field(p, "name", str, where, limit=KEY_LIMIT)
        if name in names:
            raise LoadError(f"{where}.name: duplicate period name {name!r}")
        names.add(name)
        starts, ends = _time(p, "starts_at", where, False), _time(p, "ends_at", where, True)
        if starts and ends <= starts:
            raise LoadError(f"{where}.ends_at: must be after starts_at")
        # Ballots of a period that has already ended can only be imported: they are sealed by hand.
        default_seal = m.SEAL_MANUAL if ends <= datetime.now(timezone.utc) else m.SEAL_AT_CLOSE
        seal = read_field(p, "seal", str, where, False, default_seal)
        if seal not in (m.SEAL_AT_CLOSE, m.SEAL_MANUAL):
            raise LoadError(f"{where}.seal: must be {m.SEAL_AT_CLOSE!r} or {m.SEAL_MANUAL!r}, got {seal!r}")
        election.periods.append(m.VotingPeriod(name=name, starts_at=starts, ends_at=ends, seal_mode=seal))

    areas_by_key = _areas(doc, election)
    contests = read_field(doc, "contests", list, "definition")
    if not contests:
        raise LoadError("definition.contests: at least one contest is required")
    contest_keys = set()
    for i, raw in enumerate(contests):
        row = contest_row(raw, i, areas_by_key)
        if row.key in contest_keys:
            raise LoadError(f"contests[{i}].id: duplicate contest id {row.key!r}")
        contest_keys.add(row.key)
        election.contests.append(row)
    session.add(election)
    session.flush()
    return DefinitionReport(election.id, key, len(periods), len(contests), len(areas_by_key))


def _reloaded(session: Session, doc: Mapping, existing: m.Election) -> DefinitionReport:
    """A definition loaded again: the same one (by the definition hash, services.definition) is
    accepted and writes nothing; a changed one is refused, naming both hashes once ballots exist.
    The hash is taken of the new document as stored, in a savepoint rolled back at once (under a
    throwaway key), so that one function makes every definition hash."""
    with session.begin_nested() as trial:
        probe = dict(doc, election={**doc["election"], "id": f"definition-check-{uuid.uuid4().hex}"})
        report = load_definition(session, probe)
        proposed = definition.current_hash(session, report.election_id)
        trial.rollback()
    current = definition.current_hash(session, existing.id)
    if proposed == current:
        return DefinitionReport(existing.id, existing.key, report.periods, report.contests, report.areas, True)
    if existing.definition_hash is not None:
        raise LoadError(
            f"election.id: election {existing.key!r} has ballots loaded under definition hash {current}; "
            f"this definition differs (hash {proposed}) and is refused: a counted definition cannot change"
        )
    raise LoadError(f"election.id: an election {existing.key!r} already exists with another definition")


def _areas(doc: Mapping, election: m.Election) -> dict[str, m.Area]:
    raw_areas = read_field(doc, "areas", list, "definition")
    if not raw_areas:
        raise LoadError("definition.areas: at least one area is required")
    by_key: dict[str, m.Area] = {}
    parents: dict[str, str | None] = {}
    for i, a in enumerate(raw_areas):
        where = f"areas[{i}]"
        if not isinstance(a, Mapping):
            raise LoadError(f"{where}: must be an object")
        key = read_key(a, where)
        if key in by_key:
            raise LoadError(f"{where}.id: duplicate area id {key!r}")
        census = read_field(a, "census", int, where, False, 0, limit=INT64_MAX)
        weight = read_field(a, "weight", int, where, False, 1, limit=INT32_MAX)
        if census < 0:
            raise LoadError(f"{where}.census: must be at least 0")
        if weight < 1:
            raise LoadError(f"{where}.weight: must be at least 1")
        name = read_field(a, "name", str, where, False, key, limit=NAME_LIMIT)
        area = m.Area(key=key, name=name, census=census, weight=weight)
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


def contest_row(raw: Any, i: int, areas: Mapping[str, m.Area]) -> m.Contest:
    where = f"contests[{i}]"
    if not isinstance(raw, Mapping):
        raise LoadError(f"{where}: must be an object")
    try:
        contest = counting.parse_contest(raw)
    except counting.DefinitionError as exc:
        raise LoadError(f"{where}.{exc.field.removeprefix('contest.')}: {exc.message}") from None
    _check_contest_limits(contest, raw, where)
    area_keys = raw.get("areas")
    if area_keys is None:
        area_keys = list(areas)
    if not isinstance(area_keys, list) or not area_keys:
        raise LoadError(f"{where}.areas: must be a non-empty list of area ids")
    annotations = _area_annotations(raw, areas, where)
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
    for listed in area_keys:
        key = str(listed)
        if key not in areas:
            raise LoadError(f"{where}.areas: unknown area {key!r}")
        if key in seen:
            raise LoadError(f"{where}.areas: area {key!r} listed twice")
        seen.add(key)
        row.ballot_styles.append(m.BallotStyle(area=areas[key], area_annotations=dict(annotations.get(key, {}))))
    return row


def _area_annotations(raw: Mapping, areas: Mapping[str, m.Area], where: str) -> Mapping:
    annotations = raw.get("area_annotations") or {}
    if not isinstance(annotations, Mapping):
        raise LoadError(f"{where}.area_annotations: must be an object keyed by area id")
    for k, v in annotations.items():
        if k not in areas:
            raise LoadError(f"{where}.area_annotations: unknown area {k!r}")
        if not isinstance(v, Mapping):
            raise LoadError(f"{where}.area_annotations.{k}: must be an object")
    return annotations


def _check_contest_limits(contest: counting.Contest, raw: Mapping, where: str) -> None:
    """What the engine accepts but the tables cannot hold: long texts, integers past 32 bits."""
    check_within(contest.id, KEY_LIMIT, f"{where}.id")
    check_within(raw.get("name") or "", NAME_LIMIT, f"{where}.name")
    for name in ("seats", "min_votes", "max_votes"):
        if getattr(contest, name) is not None:
            check_within(getattr(contest, name), INT32_MAX, f"{where}.{name}")
    for i, c in enumerate(contest.candidates):
        cw = f"{where}.candidates[{i}]"
        for name, limit in (("id", KEY_LIMIT), ("name", NAME_LIMIT), ("category", KEY_LIMIT), ("gender", GENDER_LIMIT)):
            if getattr(c, name) is not None:
                check_within(getattr(c, name), limit, f"{cw}.{name}")
        if c.tie_break_key is not None:
            check_within(c.tie_break_key, INT32_MAX, f"{cw}.tie_break_key")
    for i, g in enumerate(contest.exclusion_groups):
        check_within(g.name, KEY_LIMIT, f"{where}.exclusion_groups[{i}].name")
        check_within(g.max_elected, INT32_MAX, f"{where}.exclusion_groups[{i}].max_elected")
