"""Count the contest an RCTab configuration describes, from its CVR sources (`tally count --rctab-config`)."""

from __future__ import annotations

from pathlib import Path

from counting import count, parse_contest

from .providers import read_all
from .rctab_config import Plan, read_config
from .records import Notes


def count_config(path: str | Path, allow_outside_paths: bool = False) -> tuple[dict, Plan, Notes]:
    """The result JSON of the configured contest, the plan it was counted from, and what the
    readers left out of it."""
    plan = read_config(path, allow_outside_paths)
    contest = parse_contest(plan.contest)
    notes = Notes()
    result = count(contest, (record.ballot for record in read_all(plan.sources, plan.names, notes))).to_json()
    return result, plan, notes

