"""From stored contests to the engine's (the tally_operation rules live in counting.definition)."""

from __future__ import annotations

import counting
from counting.definition import check_contest
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
    check_contest(contest)
    return contest
