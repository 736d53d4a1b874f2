"""From stored contests to the engine's, and the tally_operation each scope uses."""

from __future__ import annotations

from dataclasses import dataclass

import counting
from counting.contest import TALLY_OPERATIONS
from counting.methods import METHODS
from models.entities import Contest as ContestRow


def engine_contest(row: ContestRow) -> counting.Contest:
    """The engine's view of a stored contest (checked as any definition file would be)."""
    contest = counting.Contest(
        id=row.key,
        method=row.method,
        candidates=tuple(
            counting.Candidate(
                id=c.key,
                name=c.name,
                tie_break_key=c.tie_break_key,
                category=c.category,
                gender=c.gender,
                undeclared_write_in=c.undeclared_write_in,
            )
            for c in row.candidates
        ),
        seats=row.seats,
        min_votes=row.min_votes,
        max_votes=row.max_votes,
        blank_policy=row.blank_policy,
        exclusion_groups=tuple(
            counting.ExclusionGroup(name=g.name, members=tuple(g.members), max_elected=g.max_elected)
            for g in row.exclusion_groups
        ),
        options=dict(row.options or {}),
        annotations=dict(row.annotations or {}),
    )
    counting.contest.check_contest(contest)
    return contest


@dataclass(frozen=True)
class Operation:
    value: str
    fallback_from: str | None  # the missing/unknown configured value, when the default was used

    @property
    def fell_back(self) -> bool:
        return self.fallback_from is not None


def _resolve(configured, default: str) -> Operation:
    if isinstance(configured, str) and configured in TALLY_OPERATIONS:
        return Operation(configured, None)
    return Operation(default, "missing" if configured in (None, "") else str(configured))


def contest_operation(contest: counting.Contest) -> Operation:
    """The contest's tally_operation; refuses aggregate-results for a method that is not additive."""
    method = METHODS[contest.method]
    op = _resolve(contest.annotations.get("tally_operation"), method.contest_default)
    if op.value == "aggregate-results" and (method.preferential or not method.additive):
        raise counting.DefinitionError(
            "contest.annotations.tally_operation",
            f"aggregate-results cannot count {contest.method}: a preferential method must process all ballots",
        )
    return op


def area_operation(contest: counting.Contest, area_annotations: dict | None) -> Operation:
    return _resolve((area_annotations or {}).get("tally_operation"), METHODS[contest.method].area_default)
