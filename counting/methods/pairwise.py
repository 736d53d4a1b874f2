"""pairwise-beta: a ballot is a set of (winner, loser) comparisons; the top `seats` scores win.

A candidate's wins and losses are the summed weights of the ballots' pairs it won and lost. Its
score is `(wins + 1) / (wins + losses + 2)`, an exact fraction (the mean of a Beta(wins + 1,
losses + 1) belief, so a candidate is never judged on few comparisons alone); a candidate never
compared scores 0, below anyone who was. Ties at the seat cutoff follow the contest's tie order.

Scores are not sums, so this method is not additive across areas: it always counts pooled ballots.
"""

from __future__ import annotations

from fractions import Fraction

from ..contest import Contest
from ..numbers import Number
from ..outcome import Outcome
from ..ranking import top_by_totals
from ..vocabulary import MarkKind
from . import Ballots, register


def wins_and_losses(contest: Contest, ballots: Ballots) -> tuple[dict[str, int], dict[str, int]]:
    wins = dict.fromkeys(contest.candidate_ids, 0)
    losses = dict.fromkeys(contest.candidate_ids, 0)
    for pairs, weight in ballots.items():
        for winner, loser in pairs:
            wins[winner] += weight
            losses[loser] += weight
    return wins, losses


def beta_scores(contest: Contest, ballots: Ballots) -> dict[str, Number]:
    wins, losses = wins_and_losses(contest, ballots)
    return {
        c: Fraction(wins[c] + 1, wins[c] + losses[c] + 2) if wins[c] + losses[c] else 0 for c in contest.candidate_ids
    }


@register("pairwise-beta", mark_kind=MarkKind.PAIR, preferential=True)
def pairwise_beta(contest: Contest, ballots: Ballots) -> Outcome:
    return top_by_totals(contest, beta_scores(contest, ballots))
