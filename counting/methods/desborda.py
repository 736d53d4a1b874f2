"""The Desborda family: points by position, then winners chosen with team guarantees and gender parity.

Points, for the candidate at 0-based position r of a ballot (positions as in `points`: gaps in the
ranks do not count):
- desborda: `max(1, 80 - r)`;
- desborda2 and desborda3: `max(1, floor(1.3 x B) - r)`, B = option `borda_max_points`, else `max_votes`.

Winners, N of them (the seats, or every electable candidate if there are fewer):
1. Team guarantees. A team is the candidates sharing a `category`. A team holding more than a share of
   all points is guaranteed seats: desborda: > 15% -> 4, > 5% -> 2; desborda2 with 29 seats or fewer:
   > 20% -> 2, > 10% -> 1, with more seats: > 15% -> 3, > 10% -> 2, > 5% -> 1; desborda3: none.
   A guarantee never exceeds the team's size; if the guarantees add up to more than the seats, they are
   granted one seat per team in turn, most points first (then by name), until the seats run out. A
   guarantee is a minimum: a team may win more seats on points.
2. Gender parity: at most floor(N/2) men among the winners (gender "M", "male" or "man", any case).
3. Selection: candidates are taken in points order (ties by the contest's tie order), skipping any whose
   election would leave the seats still to fill unable to meet every unmet guarantee and the parity limit.
   Whether they can is counted exactly (`Constraints.fewest_men`), so whenever some set of winners meets
   both, the winners do, and they are the first such set in points order. When no set meets both,
   guarantees come first: the parity limit is raised to the fewest men any set meeting the guarantees
   needs, and a note says parity was not met and why.
Each skip is a note naming the candidate and the constraint. Winners are listed in points order. A tie in
points is recorded when the tie order decided who won.
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Callable, Mapping, Sequence

from .. import official
from ..contest import Contest
from ..numbers import Number, percentage_json
from ..outcome import Outcome, TieBreak
from ..ranking import CUTOFF_NOTE, OFFICIAL_NOTE, ORDER_NOTE, order_by_totals
from ..vocabulary import MarkKind, TieRule, order_rule
from . import Ballots, Totals, register_additive
from .points import BordaOptions, PositionOptions, max_points, points_totals

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


class Constraints:
    """The guarantees and the parity limit of one selection, and what a partial selection can still reach."""

    def __init__(self, contest: Contest, owed: Mapping[str, int], seats: int):
        self.team_of = {c.id: c.category for c in contest.candidates}
        self.men = men_of(contest)
        self.owed = owed
        self.seats = seats

    def unmet(self, chosen: Sequence[str]) -> dict[str, int]:
        """Team -> seats it is still owed once `chosen` are elected."""
        have = Counter(self.team_of[c] for c in chosen)
        return {team: seats - have[team] for team, seats in self.owed.items() if seats > have[team]}

    def fewest_men(self, chosen: Sequence[str], pool: Sequence[str]) -> int | None:
        """The fewest men among winners that extend `chosen` with candidates of `pool` to the full seats and
        meet every guarantee; None when no such winners exist (too few seats left for the guarantees).

        Exact because teams do not overlap: each team's unmet guarantee is filled with its women first, so
        only a team with too few women left forces men; every other seat left can go to any woman."""
        left = self.seats - len(chosen)
        if left > len(pool):
            return None
        forced = owed_seats = 0
        for team, missing in self.unmet(chosen).items():
            members = [c for c in pool if self.team_of[c] == team]
            if missing > len(members):
                return None
            forced += max(0, missing - sum(c not in self.men for c in members))
            owed_seats += missing
        if owed_seats > left:
            return None
        women = sum(c not in self.men for c in pool)
        return sum(c in self.men for c in chosen) + max(forced, left - women)


def select(contest: Contest, order: Sequence[str], owed: Mapping[str, int], seats: int) -> tuple[list[str], list[str]]:
    """(winners in points order, a note per candidate skipped and on parity) for `seats` seats among
    `order`, the electable candidates best first; `owed` is the seats granted to each team."""
    constraints = Constraints(contest, owed, seats)
    max_men = seats // 2
    least = constraints.fewest_men([], order)
    limit = max(max_men, least or 0)  # guarantees first: parity as far as they allow
    parity = f"gender parity ({_at_most(limit, seats)})"
    chosen: list[str] = []
    notes: list[str] = []
    for i, candidate in enumerate(order):
        if len(chosen) == seats:
            break
        men = constraints.fewest_men([*chosen, candidate], order[i + 1 :])
        if men is not None and men <= limit:
            chosen.append(candidate)
            continue
        unmet = constraints.unmet([*chosen, candidate])
        owed_text = ", ".join(f"team {team} {missing}" for team, missing in unmet.items())
        if men is None:
            left = seats - len(chosen) - 1
            notes.append(f"{candidate} passed over: electing them would leave {left} seat(s) "
                         f"for the guarantees still owed ({owed_text})")
        else:
            notes.append(f"{candidate} passed over: electing them would break {parity}"
                         + (f" given the guarantees still owed ({owed_text})" if unmet else ""))
    elected_men = sum(c in constraints.men for c in chosen)
    if elected_men > max_men:
        women = sum(c not in constraints.men for c in order)
        reason = "too few other candidates" if seats - women > max_men else "the team guarantees need them"
        notes.append(f"Gender parity not met ({_at_most(max_men, seats)}): {elected_men} men elected, {reason}")
    return chosen, notes


def _at_most(men: int, seats: int) -> str:
    return f"at most {men} {'man' if men == 1 else 'men'} among {seats} winners"


def decider(rules_for: Callable[[Contest], Guarantees]):
    """`decide(contest, totals)` for the Desborda method whose team guarantees are `rules_for(contest)`."""

    def decide(contest: Contest, totals: Totals) -> Outcome:
        totals = {c: totals.get(c, 0) for c in contest.candidate_ids}
        ranking = order_by_totals(contest, totals)
        write_ins = {c.id for c in contest.candidates if c.undeclared_write_in}
        electable = [c for c in ranking if c not in write_ins]
        seats = min(contest.seats, len(electable))
        teams = team_guarantees(contest, totals, electable, rules_for(contest))
        owed = {team: granted for team, _, granted, _ in teams}
        if official.official(contest.options):
            electable = official_order(contest, totals, electable, owed, seats)
        winners, skips = select(contest, electable, owed, seats)
        outcome = Outcome(totals, winners, winners + [c for c in ranking if c not in winners])
        whole = sum(totals.values())
        for team, _, granted, points in teams:
            share = percentage_json(points, whole)
            outcome.notes.append(f"Team {team} holds {share}% of points: guaranteed {granted} seat(s)")
        outcome.notes += skips
        record_ties(contest, totals, electable, owed, seats, outcome)
        return outcome

    return decide


def _tied_groups(totals: Mapping[str, Number], order: list[str]) -> list[list[str]]:
    groups: dict[Number, list[str]] = {}
    for c in order:
        groups.setdefault(totals[c], []).append(c)
    return [g for g in groups.values() if len(g) > 1]


def _placed(order: list[str], tied: list[str], first: list[str]) -> list[str]:
    """`order` with the places of `tied` filled by `first`, then the rest of `tied` in their order."""
    refill = iter(first + [c for c in tied if c not in first])
    return [next(refill) if c in tied else c for c in order]


def official_order(contest: Contest, totals: Mapping[str, Number], order: list[str], owed: Mapping[str, int],
                   seats: int) -> list[str]:
    """With `tie_break: "official"`: each group tied in points whose order changes the winners, in points order,
    is placed as the official decided (those chosen first); `TieNeedsDecision` for the first undecided."""
    for tied in _tied_groups(totals, order):
        winners = set(select(contest, order, owed, seats)[0])
        chosen = [c for c in tied if c in winners]
        if not chosen or len(chosen) == len(tied):
            continue
        if set(select(contest, _placed(order, tied, tied[::-1]), owed, seats)[0]) == winners:
            continue
        order = _placed(order, tied, official.decide(contest.options, tied, "cutoff", None, len(chosen)).chosen)
    return order


def record_ties(
    contest: Contest, totals: Mapping[str, Number], order: list[str], owed: Mapping[str, int], seats: int,
    outcome: Outcome,
) -> None:
    """Record each group tied in points that the tie order split between winners and the others,
    when reversing the group's order would change the winners (so the tie order, not parity or a
    guarantee, decided)."""
    rule = TieRule.OFFICIAL if official.official(contest.options) else order_rule(contest.options)
    for tied in _tied_groups(totals, order):
        chosen = [c for c in tied if c in outcome.winners]
        if not chosen or len(chosen) == len(tied):
            continue
        if set(select(contest, _placed(order, tied, tied[::-1]), owed, seats)[0]) != set(outcome.winners):
            outcome.ties.append(TieBreak(candidates=tied, chosen=chosen, rule=rule, purpose="cutoff"))
    if outcome.ties:
        outcome.notes.append({TieRule.TIE_BREAK_ORDER: ORDER_NOTE, TieRule.OFFICIAL: OFFICIAL_NOTE}.get(rule, CUTOFF_NOTE))


register_additive(
    "desborda",
    mark_kind=MarkKind.RANK,
    preferential=True,
    totals=desborda_totals,
    decide=decider(desborda_rules),
    options=PositionOptions,
)
for _name, _rules in (("desborda2", desborda2_rules), ("desborda3", desborda3_rules)):
    register_additive(
        _name,
        mark_kind=MarkKind.RANK,
        preferential=True,
        totals=desborda2_totals,
        decide=decider(_rules),
        options=BordaOptions,
    )
