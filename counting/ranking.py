"""Rank-by-count winner selection, shared by every method whose winners are the top totals."""

from __future__ import annotations

from typing import Mapping, Sequence

from . import official
from .contest import Contest
from .numbers import Number
from .outcome import Outcome, TieBreak
from .vocabulary import TieRule, order_rule

CUTOFF_NOTE = "Tie detected at cutoff; resolved by candidateId ASC"
ORDER_NOTE = "Tie detected at cutoff; resolved by tie_break_order"
OFFICIAL_NOTE = "Tie detected at cutoff; resolved by an official's recorded decision"
_CUTOFF_NOTES = {TieRule.TIE_BREAK_ORDER: ORDER_NOTE, TieRule.CANDIDATE_ID_ASC: CUTOFF_NOTE, TieRule.OFFICIAL: OFFICIAL_NOTE}


def tie_order(contest: Contest) -> list[str]:
    """Candidates, most favoured first: the contest's `tie_break_order`, else candidate id ascending."""
    order = contest.options.get("tie_break_order")
    if order:
        listed = [c for c in order if c in set(contest.candidate_ids)]
        rest = sorted(c for c in contest.candidate_ids if c not in set(listed))
        return listed + rest
    return sorted(contest.candidate_ids)


def order_by_totals(contest: Contest, totals: Mapping[str, Number]) -> list[str]:
    favour = {c: i for i, c in enumerate(tie_order(contest))}
    return sorted(contest.candidate_ids, key=lambda c: (-totals.get(c, 0), favour[c]))


def top_by_totals(contest: Contest, totals: Mapping[str, Number], seats: int | None = None) -> Outcome:
    """Sort by total descending, ties by the contest's tie order; the top `seats` eligible candidates win.

    An undeclared write-in (the pool of write-ins nobody declared) can never be elected: it is passed
    over and the seat goes to the next candidate. A tie at the seat cutoff between eligible candidates
    is recorded and noted, as the admin API's certification requires. `order` lists the winners first,
    then everyone else by total."""
    seats = contest.seats if seats is None else seats
    by_total = order_by_totals(contest, totals)
    pool = {c.id for c in contest.candidates if c.undeclared_write_in}
    eligible = [c for c in by_total if c not in pool]
    winners = eligible[:seats]
    tie = None
    if 0 < seats < len(eligible):
        cutoff = totals.get(eligible[seats - 1], 0)
        if totals.get(eligible[seats], 0) == cutoff:
            tied = [c for c in eligible if totals.get(c, 0) == cutoff]
            above = [c for c in winners if c not in tied]
            if official.official(contest.options):
                tie = official.decide(contest.options, tied, "cutoff", None, choose=seats - len(above))
                winners = above + tie.chosen
            else:
                tie = TieBreak(candidates=tied, chosen=[c for c in tied if c in winners],
                               rule=order_rule(contest.options), purpose="cutoff")
    order = winners + [c for c in by_total if c not in winners]
    outcome = Outcome(totals={c: totals.get(c, 0) for c in contest.candidate_ids}, winners=winners, order=order)
    if tie is not None:
        outcome.ties.append(tie)
        outcome.notes.append(_CUTOFF_NOTES[tie.rule])
    return outcome


def sum_totals(parts: Sequence[Mapping[str, Number]]) -> dict[str, Number]:
    out: dict[str, Number] = {}
    for part in parts:
        for c, v in part.items():
            out[c] = out.get(c, 0) + v
    return out
