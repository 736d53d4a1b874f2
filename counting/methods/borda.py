"""The Borda family: each ranked candidate gets points for its position; the top `seats` totals win.

Positions are 0-based indexes in the ballot's rank order (see `points`): a gap in the ranks does not
lower anyone's points. M is option `borda_max_points`, else `max_votes` (the number of ranks).

- borda: position r is worth `M - r` points (never below 0, should M be set below the number of ranks).
- borda-nauru: position r is worth `1 / (r + 1)` points, as exact fractions.
- borda-mas-madrid: as borda, but a block vote counts 5 times: a ballot that is exactly one
  category's full candidate list, in the contest's candidate order, and nothing else.

Totals add across areas; ties at the seat cutoff are broken by the contest's tie order and recorded.
"""

from __future__ import annotations

from fractions import Fraction

from ..contest import Contest
from ..ranking import sum_totals, top_by_totals
from ..vocabulary import MarkKind
from . import Ballots, Totals, register_additive
from .points import BordaOptions, PositionOptions, max_points, points_totals

BLOCK_VOTE_MULTIPLIER = 5


def borda_totals(contest: Contest, ballots: Ballots) -> Totals:
    m = max_points(contest)
    return points_totals(contest, ballots, lambda r: max(0, m - r))


def nauru_totals(contest: Contest, ballots: Ballots) -> Totals:
    return points_totals(contest, ballots, lambda r: Fraction(1, r + 1))


def block_votes(contest: Contest) -> set[tuple[str, ...]]:
    """Each category's full candidate list, in the contest's candidate order."""
    lists: dict[str, list[str]] = {}
    for candidate in contest.candidates:
        if candidate.category:
            lists.setdefault(candidate.category, []).append(candidate.id)
    return {tuple(ids) for ids in lists.values()}


def mas_madrid_totals(contest: Contest, ballots: Ballots) -> Totals:
    """Borda points, with each block vote's points counted 5 times: once like any ballot's, then 4
    more times from the (few) block ballots alone."""
    blocks = block_votes(contest)
    firsts, lengths = {b[0] for b in blocks}, {len(b) for b in blocks}
    extra = {
        marks: weight * (BLOCK_VOTE_MULTIPLIER - 1)
        for marks, weight in ballots.items()
        if len(marks) in lengths and marks[0][0] in firsts and tuple(c for c, _ in marks) in blocks
    }
    return sum_totals([borda_totals(contest, ballots), borda_totals(contest, extra)])


register_additive(
    "borda", mark_kind=MarkKind.RANK, preferential=True, totals=borda_totals, decide=top_by_totals, options=BordaOptions
)
register_additive(
    "borda-nauru", mark_kind=MarkKind.RANK, preferential=True, totals=nauru_totals, decide=top_by_totals, options=PositionOptions
)
register_additive(
    "borda-mas-madrid",
    mark_kind=MarkKind.RANK,
    preferential=True,
    totals=mas_madrid_totals,
    decide=top_by_totals,
    options=BordaOptions,
)
