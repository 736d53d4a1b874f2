"""Plurality-at-large, approval and cumulative: each valid ballot adds its weight (times the
checks given, for cumulative) to every candidate it marks; the top `seats` totals win."""

from __future__ import annotations

from ..contest import Contest
from ..mark_kinds import PointOptions
from ..ranking import top_by_totals
from ..vocabulary import MarkKind
from . import Ballots, Totals, register_additive


def mark_totals(contest: Contest, ballots: Ballots) -> Totals:
    totals = dict.fromkeys(contest.candidate_ids, 0)
    for marks, weight in ballots.items():
        for candidate, value in marks:
            totals[candidate] += value * weight
    return totals


register_additive("plurality-at-large", mark_kind=MarkKind.CHECK, preferential=False, totals=mark_totals, decide=top_by_totals)
register_additive("approval", mark_kind=MarkKind.CHECK, preferential=False, totals=mark_totals, decide=top_by_totals)
register_additive(
    "cumulative",
    mark_kind=MarkKind.POINTS,
    preferential=False,
    totals=mark_totals,
    decide=top_by_totals,
    options=PointOptions,
)
