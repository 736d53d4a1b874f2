"""Count the contest an RCTab configuration describes, from its CVR sources (`tally count --rctab-config`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from counting import official, parse_contest
from counting.area_rounds import followable
from counting.count import count_grouped, follow_in_area, group_ballots

from .providers import read_all
from .rctab_config import Plan, read_config
from .records import Notes


MISSING_PRECINCT = "missing_precinct_id"  # RCTab's name for the records whose precinct is blank
BLANK_PRECINCT = {"genericCsv": "no precinct id"}  # ... but for its generic CSV reader's


def count_config(path: str | Path, allow_outside_paths: bool = False,
                 tie_decisions: Sequence[tuple[int | None, str]] = ()) -> tuple[dict, Plan, Notes]:
    """The result JSON of the configured contest, the plan it was counted from, and what the
    readers left out of it. A tie left to an official (RCTab's ask modes) is decided by `tie_decisions`
    (`counting.official.deciding`), else raised."""
    plan = read_config(path, allow_outside_paths)
    contest = parse_contest(plan.contest)
    notes = Notes()
    by_precinct: defaultdict[str, list] | None = defaultdict(list) if plan.output.get("tabulateByPrecinct") else None

    def ballots():
        for source in plan.sources:
            blank = BLANK_PRECINCT.get(source.provider, MISSING_PRECINCT)
            for record in read_all([source], plan.names, notes):
                if by_precinct is not None:
                    by_precinct[record.precinct or blank].append(record.ballot)
                yield record.ballot

    grouped = group_ballots(ballots())  # read once, counted again after each tie an official decides
    result = official.deciding(
        lambda decisions: count_grouped(official.with_decisions(contest, decisions), grouped).to_json(),
        tie_decisions)
    if by_precinct is not None and followable(contest, result):
        # RCTab's tabulateByPrecinct: each precinct's rounds, following the contest's decisions
        result["precincts"] = {p: follow_in_area(contest, by_precinct[p], result) for p in sorted(by_precinct)}
    return result, plan, notes

