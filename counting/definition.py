"""A contest's definition read from its JSON form (`parse_contest`) and checked against the method
registry before any ballot is read (`check_contest`), and the tally operations a contest and each
of its areas ask for, which the method decides by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from . import official
from .contest import BLANK_POLICIES, Candidate, Contest, ExclusionGroup
from .errors import DefinitionError
from .methods import METHODS
from .vocabulary import TallyOperation

TALLY_OPERATIONS = tuple(TallyOperation)


def _require(obj: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in obj:
        raise DefinitionError(f"{where}.{key}", "is required")
    value = obj[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise DefinitionError(f"{where}.{key}", f"must be an integer, got {value!r}")
    if kind is not int and not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise DefinitionError(f"{where}.{key}", f"must be of type {names}, got {value!r}")
    return value


def _optional_int(obj: Mapping[str, Any], key: str, default: int | None, where: str) -> int | None:
    if obj.get(key) is None:
        return default
    return _require(obj, key, int, where)


def parse_contest(obj: Any) -> Contest:
    """Build a Contest from its JSON form, refusing anything that cannot be counted."""
    if not isinstance(obj, Mapping):
        raise DefinitionError("contest", "must be an object")
    where = "contest"
    contest_id = str(_require(obj, "id", (str, int), where))
    method = _require(obj, "method", str, where)
    raw_candidates = _require(obj, "candidates", list, where)
    candidates = [_candidate(raw, f"{where}.candidates[{i}]") for i, raw in enumerate(raw_candidates)]
    options = obj.get("options") or {}
    if not isinstance(options, Mapping):
        raise DefinitionError(f"{where}.options", "must be an object")
    annotations = obj.get("annotations") or {}
    if not isinstance(annotations, Mapping):
        raise DefinitionError(f"{where}.annotations", "must be an object")
    raw_groups = obj.get("exclusion_groups") or []
    if not isinstance(raw_groups, list):
        raise DefinitionError(f"{where}.exclusion_groups", "must be a list")
    groups = [_group(raw, i, f"{where}.exclusion_groups[{i}]") for i, raw in enumerate(raw_groups)]
    contest = Contest(
        id=contest_id,
        method=method,
        candidates=tuple(candidates),
        seats=_optional_int(obj, "seats", 1, where),
        min_votes=_optional_int(obj, "min_votes", 0, where),
        max_votes=_optional_int(obj, "max_votes", None, where),
        blank_policy=obj.get("blank_policy") or "allowed",
        exclusion_groups=tuple(groups),
        options=dict(options),
        annotations=dict(annotations),
    )
    check_contest(contest)
    return contest


def _candidate(raw: Any, where: str) -> Candidate:
    if not isinstance(raw, Mapping):
        raise DefinitionError(where, "must be an object")
    tie_key = raw.get("tie_break_key")
    if tie_key is not None and (isinstance(tie_key, bool) or not isinstance(tie_key, int)):
        raise DefinitionError(f"{where}.tie_break_key", "must be an integer")
    for text_field in ("name", "category", "gender"):
        if raw.get(text_field) is not None and not isinstance(raw[text_field], str):
            raise DefinitionError(f"{where}.{text_field}", "must be a string")
    return Candidate(
        id=str(_require(raw, "id", (str, int), where)),
        name=raw.get("name") or "",
        tie_break_key=tie_key,
        category=raw.get("category"),
        gender=raw.get("gender"),
        undeclared_write_in=bool(raw.get("undeclared_write_in", False)),
    )


def _group(raw: Any, i: int, where: str) -> ExclusionGroup:
    if not isinstance(raw, Mapping):
        raise DefinitionError(where, "must be an object")
    members = _require(raw, "members", list, where)
    return ExclusionGroup(
        name=str(raw.get("name", f"group-{i + 1}")),
        members=tuple(str(m) for m in members),
        max_elected=_require(raw, "max_elected", int, where),
    )


def check_contest(contest: Contest) -> None:
    """Refuse a definition that cannot be counted, naming the field."""
    if contest.method not in METHODS:
        known = ", ".join(sorted(METHODS))
        raise DefinitionError("contest.method", f"unknown method {contest.method!r} (known: {known})")
    if not contest.candidates:
        raise DefinitionError("contest.candidates", "at least one candidate is required")
    ids = contest.candidate_ids
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise DefinitionError("contest.candidates", f"duplicate candidate id(s): {', '.join(dup)}")
    if contest.seats < 1:
        raise DefinitionError("contest.seats", f"must be at least 1, got {contest.seats}")
    if contest.min_votes < 0:
        raise DefinitionError("contest.min_votes", f"must be at least 0, got {contest.min_votes}")
    if contest.max_votes is not None:
        if contest.max_votes < 1:
            raise DefinitionError("contest.max_votes", f"must be at least 1, got {contest.max_votes}")
        if contest.max_votes < contest.min_votes:
            raise DefinitionError(
                "contest.max_votes",
                f"max_votes ({contest.max_votes}) is less than min_votes ({contest.min_votes})",
            )
    if contest.blank_policy not in BLANK_POLICIES:
        raise DefinitionError("contest.blank_policy", f"must be one of {', '.join(BLANK_POLICIES)}")
    _check_exclusion_groups(contest)
    official.check(contest.options, contest.candidate_ids)
    METHODS[contest.method].check(contest)


def _check_exclusion_groups(contest: Contest) -> None:
    known = set(contest.candidate_ids)
    for i, group in enumerate(contest.exclusion_groups):
        gw = f"contest.exclusion_groups[{i}]"
        unknown = [m for m in group.members if m not in known]
        if unknown:
            raise DefinitionError(f"{gw}.members", f"unknown candidate(s): {', '.join(unknown)}")
        if len(set(group.members)) != len(group.members):
            raise DefinitionError(f"{gw}.members", "a candidate is listed twice")
        if not 1 <= group.max_elected <= len(group.members):
            raise DefinitionError(
                f"{gw}.max_elected",
                f"must be between 1 and the group's {len(group.members)} members, got {group.max_elected}",
            )
        if len(group.members) > len(contest.candidates):
            raise DefinitionError(f"{gw}.members", "group is larger than the candidate list")


@dataclass(frozen=True)
class Operation:
    """A resolved `tally_operation`, and the configured value it replaced, if it had to fall back."""

    value: TallyOperation
    fallback_from: str | None = None  # "missing", or the unknown configured value

    @property
    def fell_back(self) -> bool:
        return self.fallback_from is not None


def _resolve(configured: Any, default: TallyOperation) -> Operation:
    if isinstance(configured, str) and configured in TALLY_OPERATIONS:
        return Operation(TallyOperation(configured))
    return Operation(default, "missing" if configured in (None, "") else str(configured))


def contest_operation(contest: Contest) -> Operation:
    """The contest's `tally_operation` (annotation, else the method's default).

    A missing, empty or unknown value falls back to the default. `aggregate-results` is refused for a
    preferential or non-additive method: its winners cannot be summed from the areas' results."""
    method = METHODS[contest.method]
    operation = _resolve(contest.annotations.get("tally_operation"), method.contest_default)
    if operation.value == TallyOperation.AGGREGATE_RESULTS and (method.preferential or not method.additive):
        raise DefinitionError(
            "contest.annotations.tally_operation",
            f"aggregate-results cannot count {contest.method}: a preferential method must process all ballots",
        )
    return operation


def area_operation(contest: Contest, area_annotations: Mapping[str, Any] | None) -> Operation:
    """An area's `tally_operation` (its ballot style's annotation, else the method's area default)."""
    return _resolve((area_annotations or {}).get("tally_operation"), METHODS[contest.method].area_default)
