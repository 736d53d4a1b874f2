"""The Desborda family: points by position, then winners chosen with team guarantees and gender parity.

Points, for the candidate at 0-based position r of a ballot (positions as in `points`: gaps in the
ranks do not count):
- desborda: `max(1, 80 - r)`;
- desborda2 and desborda3: `max(1, floor(1.3 x B) - r)`, B = option `borda_max_points`, else `max_votes`.

Winners, N of them (the seats, or every electable candidate if there are fewer):
1. Candidates are sorted by points, ties by the contest's tie order.
2. Team guarantees. A team is the candidates sharing a `category`. A team holding more than a share of
   all points is guaranteed seats: desborda: > 15% -> 4, > 5% -> 2; desborda2 with 29 seats or fewer:
   > 20% -> 2, > 10% -> 1, with more seats: > 15% -> 3, > 10% -> 2, > 5% -> 1; desborda3: none.
   Teams, most points first (then by name), seat their best members up to the guarantee (never more
   than the team has). If the guarantees add up to more than the seats, they are granted one seat per
   team in turn, in that order, until the seats run out. A guarantee is a minimum: a team may win
   more seats on points.
3. The other seats go down the points order.
4. Gender parity throughout: at most floor(N/2) men among the winners. A man who would exceed it is
   passed over for the next candidate who is not a man (gender "M", "male" or "man", any case). When
   too few such candidates remain (in the team, for a guaranteed seat; at all, for the others), the
   men passed over fill the seats, by points, and a note says parity was not met.
Winners are listed in points order. A tie in points is recorded when the tie order decided who won.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Callable, Mapping, Sequence

from ..contest import Contest
from ..numbers import Number, percentage_json
from ..outcome import Outcome, TieBreak
from ..ranking import CUTOFF_NOTE, ORDER_NOTE, order_by_totals
from . import Ballots, Totals, register_additive
from .points import check_ranked, max_points, points_totals

MEN = frozenset({"m", "male", "man"})
Guarantees = Sequence[tuple[Fraction, int]]  # (share of all points to exceed, seats), largest share first


def desborda_totals(contest: Contest, ballots: Ballots) -> Totals:
    return points_totals(contest, ballots, lambda r: max(1, 80 - r))


def desborda2_totals(contest: Contest, ballots: Ballots) -> Totals:
    top = 13 * max_points(contest) // 10  # floor(1.3 x B), exactly
    return points_totals(contest, ballots, lambda r: max(1, top - r))


def desborda_rules(contest: Contest) -> Guarantees:
    return ((Fraction(15, 100), 4), (Fraction(5, 100), 2))


def desborda2_rules(contest: Contest) -> Guarantees:
    if contest.seats <= 29:
        return ((Fraction(20, 100), 2), (Fraction(10, 100), 1))
    return ((Fraction(15, 100), 3), (Fraction(10, 100), 2), (Fraction(5, 100), 1))


def desborda3_rules(contest: Contest) -> Guarantees:
    return ()


def men_of(contest: Contest) -> frozenset[str]:
    return frozenset(c.id for c in contest.candidates if (c.gender or "").strip().lower() in MEN)


def guaranteed(points: Number, whole: Number, rules: Guarantees) -> int:
    """Seats guaranteed to a team holding `points` of `whole`: the first step whose share it exceeds."""
    return next((seats for share, seats in rules if points > share * whole), 0)


def team_guarantees(
    contest: Contest, totals: Mapping[str, Number], order: Sequence[str], rules: Guarantees
) -> list[tuple[str, list[str], int, Number]]:
    """(team, members best first, seats guaranteed, team points) for each team with a guarantee, most
    points first (then by name). A guarantee never exceeds the team's size. When the guarantees add up
    to more than the seats, they are granted one seat per team in turn, most points first, until the
    seats run out."""
    category = {c.id: c.category for c in contest.candidates}
    by_team: dict[str, list[str]] = {}
    for c in order:
        if category[c]:
            by_team.setdefault(category[c], []).append(c)
    points = {team: sum(totals[c] for c in members) for team, members in by_team.items()}
    whole = sum(totals.values())
    ranked = sorted(by_team, key=lambda t: (-points[t], t))
    owed = {t: min(guaranteed(points[t], whole, rules), len(by_team[t])) for t in ranked}
    turns = [t for turn in range(max(owed.values(), default=0)) for t in ranked if owed[t] > turn]
    granted = Counter(turns[: min(contest.seats, len(order))])
    return [(t, by_team[t], granted[t], points[t]) for t in ranked if granted[t]]


def pick(pool: Sequence[str], n: int, chosen: list[str], max_men: int, men: frozenset[str]) -> list[str]:
    """Up to n candidates of `pool`, in order, not chosen yet; a man only while fewer than `max_men` men
    are chosen. If that leaves places, the men passed over fill them, in order (parity then fails)."""
    fresh = [c for c in pool if c not in chosen]
    men_chosen = sum(c in men for c in chosen)
    picked: list[str] = []
    for c in fresh:
        if len(picked) == n:
            break
        if c in men:
            if men_chosen >= max_men:
                continue
            men_chosen += 1
        picked.append(c)
    if len(picked) < n:
        picked += [c for c in fresh if c not in picked][: n - len(picked)]
    return picked


def select(
    contest: Contest, totals: Mapping[str, Number], order: Sequence[str], rules: Guarantees, max_men: int
) -> list[str]:
    """Steps 2 to 4 of the rule: `order` is the electable candidates, best first; winners in that order."""
    men = men_of(contest)
    chosen: list[str] = []
    for _, members, seats, _ in team_guarantees(contest, totals, order, rules):
        chosen += pick(members, seats, chosen, max_men, men)
    chosen += pick(order, min(contest.seats, len(order)) - len(chosen), chosen, max_men, men)
    return [c for c in order if c in chosen]


def decider(rules_for: Callable[[Contest], Guarantees]):
    """`decide(contest, totals)` for the Desborda method whose team guarantees are `rules_for(contest)`."""

    def decide(contest: Contest, totals: Totals) -> Outcome:
        totals = {c: totals.get(c, 0) for c in contest.candidate_ids}
        ranking = order_by_totals(contest, totals)
        write_ins = {c.id for c in contest.candidates if c.undeclared_write_in}
        electable = [c for c in ranking if c not in write_ins]
        rules = rules_for(contest)
        seats = min(contest.seats, len(electable))
        max_men = seats // 2
        winners = select(contest, totals, electable, rules, max_men)
        outcome = Outcome(totals, winners, winners + [c for c in ranking if c not in winners])
        whole = sum(totals.values())
        for team, _, guaranteed, points in team_guarantees(contest, totals, electable, rules):
            share = percentage_json(points, whole)
            outcome.notes.append(f"Team {team} holds {share}% of points: guaranteed {guaranteed} seat(s)")
        outcome.notes += parity_notes(contest, winners, max_men, select(contest, totals, electable, rules, seats))
        record_ties(contest, totals, electable, rules, max_men, outcome)
        return outcome

    return decide


def parity_notes(contest: Contest, winners: list[str], max_men: int, without_parity: list[str]) -> list[str]:
    men = sum(c in men_of(contest) for c in winners)
    limit = f"at most {max_men} men among {len(winners)} winners"
    if men > max_men:
        return [f"Gender parity not met ({limit}): {men} men elected, too few other candidates"]
    passed_over = [c for c in without_parity if c not in winners]
    if passed_over:
        return [f"Gender parity ({limit}) passed over {', '.join(passed_over)}"]
    return []


def record_ties(
    contest: Contest, totals: Mapping[str, Number], order: list[str], rules: Guarantees, max_men: int, outcome: Outcome
) -> None:
    """Record each group tied in points that the tie order split between winners and the others,
    when reversing the group's order would change the winners (so the tie order, not parity or a
    guarantee, decided)."""
    rule = "tie-break-order" if contest.options.get("tie_break_order") else "candidate-id-asc"
    groups: dict[Number, list[str]] = {}
    for c in order:
        groups.setdefault(totals[c], []).append(c)
    for tied in groups.values():
        chosen = [c for c in tied if c in outcome.winners]
        if not chosen or len(chosen) == len(tied):
            continue
        flipped = iter(reversed(tied))
        reordered = [next(flipped) if c in tied else c for c in order]
        if set(select(contest, totals, reordered, rules, max_men)) != set(outcome.winners):
            outcome.ties.append(TieBreak(candidates=tied, chosen=chosen, rule=rule, purpose="cutoff"))
    if outcome.ties:
        outcome.notes.append(ORDER_NOTE if rule == "tie-break-order" else CUTOFF_NOTE)


def _check_desborda(contest: Contest) -> None:
    check_ranked(contest, uses_max_points=False)


register_additive(
    "desborda",
    mark_kind="rank",
    preferential=True,
    totals=desborda_totals,
    decide=decider(desborda_rules),
    check=_check_desborda,
)
for _name, _rules in (("desborda2", desborda2_rules), ("desborda3", desborda3_rules)):
    register_additive(
        _name,
        mark_kind="rank",
        preferential=True,
        totals=desborda2_totals,
        decide=decider(_rules),
        check=check_ranked,
    )
