"""Position points, shared by the Borda and Desborda families.

A ranked ballot gives each candidate it ranks some points that depend only on the candidate's
0-based position r: its index in the ballot's rank order (ranks ascending). Positions are not rank
values: a ballot ranking A 1, B 2, C 4 puts C at position 2, so a gap in the ranks never costs points.

Counting takes two steps, so that a million ballots stay fast and exact: one pass over the distinct
ballots sums, per position, the weight each candidate received there; then each candidate's total is
`sum over r of points(r) x weight at r`, a handful of exact multiplications however many ballots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..contest import Contest
from ..numbers import Number
from ..options import Options, option, positive_integer
from ..ranked import require_one_candidate_per_rank
from . import Ballots, Totals



def position_weights(contest: Contest, ballots: Ballots) -> list[dict[str, int]]:
    """For each position r, candidate -> summed weight of the ballots that rank it at r.

    Each distinct ballot is visited once."""
    longest = max(map(len, ballots), default=0)
    tables = [dict.fromkeys(contest.candidate_ids, 0) for _ in range(longest)]
    for marks, weight in ballots.items():
        for table, (candidate, _) in zip(tables, marks, strict=False):
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


@dataclass(frozen=True)
class PositionOptions(Options):
    """A points method's options: none of its own; it needs one candidate at each position, so the
    ballot rules that keep an overvoted or repeated ballot valid are refused."""

    def check(self, contest: Contest) -> None:
        require_one_candidate_per_rank(contest)


@dataclass(frozen=True)
class BordaOptions(PositionOptions):
    """Borda's (and desborda2's, desborda3's): the points of the first position."""

    borda_max_points: int | None = option(None, positive_integer)


def max_points(contest: Contest) -> int:
    """The points of position 0: option `borda_max_points`, else the number of ranks (`max_votes`)."""
    value = BordaOptions.parse(contest).borda_max_points
    return contest.effective_max_votes if value is None else value
