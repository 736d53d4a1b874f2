"""Count the contest an RCTab configuration describes, from its CVR sources (`tally count --rctab-config`)."""

from __future__ import annotations

from pathlib import Path

from counting import count, parse_contest

from .providers import read_all
from .rctab_config import Plan, read_config


def count_config(path: str | Path) -> tuple[dict, Plan]:
    """The result JSON of the configured contest, and the plan it was counted from."""
    plan = read_config(path)
    contest = parse_contest(plan.contest)
    result = count(contest, (record.ballot for record in read_all(plan.sources, plan.names))).to_json()
    return result, plan

