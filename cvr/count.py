"""Count the contest an RCTab configuration describes, from its CVR sources (`tally count --rctab-config`)."""

from __future__ import annotations

from pathlib import Path

from counting import count, parse_contest

from .errors import ConfigError
from .providers import read_all
from .rctab_config import Plan, read_config


def count_config(path: str | Path) -> tuple[dict, Plan]:
    """The result JSON of the configured contest, and the plan it was counted from. A count that
    would have to draw lots (the configured tie-break mode) is refused, naming the tie."""
    plan = read_config(path)
    contest = parse_contest(plan.contest)
    result = count(contest, (record.ballot for record in read_all(plan.sources, plan.names))).to_json()
    check_lots(plan, result)
    return result, plan


def check_lots(plan: Plan, result: dict) -> None:
    if plan.lot_mode is None:
        return
    for tie in result.get("ties", []):
        if tie["rule"] != "previous-rounds":
            raise ConfigError(
                "rules.tiebreakMode",
                f"{plan.lot_mode!r} draws lots, and round {tie['round']} has a tie between "
                f"{', '.join(tie['candidates'])}: needs RCTab rule tiebreakMode={plan.lot_mode} (issue 17)",
            )
