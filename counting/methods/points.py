"""Position points, shared by the Borda and Desborda families.

A ranked ballot gives each candidate it ranks some points that depend only on the candidate's
0-based position r: its index in the ballot's rank order (ranks ascending). Positions are not rank
values: a ballot ranking A 1, B 2, C 4 puts C at position 2, so a gap in the ranks never costs points.

Counting takes two steps, so that a million ballots stay fast and exact: one pass over the distinct
ballots sums, per position, the weight each candidate received there; then each candidate's total is
`sum over r of points(r) x weight at r`, a handful of exact multiplications however many ballots.
"""

from __future__ import annotations

from typing import Callable

from ..contest import Contest
from ..errors import DefinitionError
from ..numbers import Number
from ..vocabulary import INVALIDATE
from . import Ballots, Totals



def position_weights(contest: Contest, ballots: Ballots) -> list[dict[str, int]]:
    """For each position r, candidate -> summed weight of the ballots that rank it at r.

    Each distinct ballot is visited once."""
    longest = max(map(len, ballots), default=0)
    tables = [dict.fromkeys(contest.candidate_ids, 0) for _ in range(longest)]
    for marks, weight in ballots.items():
        for table, (candidate, _) in zip(tables, marks):
            table[candidate] += weight
    return tables


def points_totals(contest: Contest, ballots: Ballots, points: Callable[[int], Number]) -> Totals:
    """Each candidate's total: the points of every position it holds, times the weight held there."""
    totals: Totals = dict.fromkeys(contest.candidate_ids, 0)
    for r, table in enumerate(position_weights(contest, ballots)):
        worth = points(r)
        for candidate, weight in table.items():
            if weight:
                totals[candidate] += worth * weight
    return totals


def max_points(contest: Contest) -> int:
    """The points of position 0: option `borda_max_points`, else the number of ranks (`max_votes`)."""
    value = contest.options.get("borda_max_points")
    return contest.effective_max_votes if value is None else value


def check_ranked(contest: Contest, *, uses_max_points: bool = True) -> None:
    """Refuse options a points count cannot honour.

    `borda_max_points` must be a positive integer. The instant-runoff rules that keep overvoted or
    repeated ballots valid are refused: a points method needs one candidate per position."""
    value = contest.options.get("borda_max_points")
    if uses_max_points and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise DefinitionError("contest.options.borda_max_points", f"must be a positive integer, got {value!r}")
    for rule in ("overvote_rule", "duplicate_candidate_rule"):
        if contest.options.get(rule, INVALIDATE) != INVALIDATE:
            raise DefinitionError(
                f"contest.options.{rule}",
                f"must be {INVALIDATE!r} for {contest.method}: each position holds exactly one candidate",
            )
