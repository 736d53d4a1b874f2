"""The Condorcet family: `schulze`, `ranked-pairs`, `copeland`, `minimax`, all from one pairwise matrix.

The pairwise matrix: for every ordered pair (X, Y) of distinct candidates, P[X][Y] is the summed weight of
the valid ballots that rank X above Y. A ballot ranks X above Y when it ranks X and either does not rank Y
or ranks Y lower down (a higher rank number). So a ranked candidate is above every unranked one, and two
unranked candidates are equal: that ballot counts for neither. Gaps in the ranks do not matter, only the
order. Two candidates at one rank (an overvote) and a candidate at two ranks make the ballot invalid
(`overvote`, `duplicate-candidate`), as for every ranked method with the default ballot rules; the rules
that keep such ballots valid (`overvote_rule`, `duplicate_candidate_rule`, ...) are refused. The margin of
X over Y is P[X][Y] - P[Y][X]; X beats Y when it is positive. Everything is integer arithmetic.

The Smith set is the smallest non-empty set of candidates each of whom beats every candidate outside it.

Each method orders every candidate; the first `seats` of that order who are not undeclared write-ins win.
Where the method leaves candidates level, the contest's tie order decides (`tie_break_order`, most favoured
first, else candidate ids ascending), and a tie that decided who is elected is recorded in `ties` and noted.
- schulze: the strength of a path X -> ... -> Y of candidates each beating the next is its smallest margin;
  S[X][Y] is the strongest such path's (0 when there is none). X is placed above Y when S[X][Y] > S[Y][X]
  (a transitive relation, Schulze's theorem). The order takes, again and again, the most favoured candidate
  whom no remaining candidate is placed above. Winners of one seat are Schulze's winners.
- ranked-pairs (Tideman): the pairs (X, Y) with X beating Y, largest margin first, are locked in turn
  unless one would close a cycle of locked pairs. Pairs of equal margin go in the order of the tie order
  (Zavist and Tideman's rule: the pair whose winner is more favoured first; with the same winner, the pair
  whose loser is less favoured first). The order takes, again and again, the most favoured remaining
  candidate over whom no remaining candidate is locked. Equal margins whose order changed what was locked
  are a recorded tie (purpose `lock`).
- copeland: a candidate scores 1 for each candidate it beats and 1/2 for each it ties with; the order is by
  score, highest first.
- minimax: a candidate's score is the largest margin by which another candidate beats it (0 when nobody
  does); the order is by score, smallest first.

Every result has one round: its tallies are each candidate's `total_count` (schulze: the candidates it is
placed above; ranked-pairs: the candidates below it in the locked pairs, directly or not; copeland: its
score; minimax: the valid weight minus its score, so that a higher count is better and none is negative),
`elected` is the winners, and it adds `pairwise` (the matrix, id -> id -> weight), `smith_set` (in the
contest's candidate order) and each method's own: schulze `strongest_paths`; ranked-pairs `locked` and
`skipped` (`[winner, loser, margin]` in the order considered); copeland `pairwise_record` (wins, ties,
losses); minimax `worst_defeat` (its score).

These are not sums that add across areas: the contest is always counted on its pooled ballots.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from .. import official
from ..contest import Contest
from ..numbers import Number
from ..options import Options, candidate_list, option, refuse_options_of
from ..outcome import Outcome, Round, TieBreak
from ..ranking import CUTOFF_NOTE, OFFICIAL_NOTE, ORDER_NOTE, tie_order, top_by_totals
from ..vocabulary import MarkKind, TieRule, order_rule
from . import Ballots, register
from .irv import IrvOptions

Matrix = list[list[int]]  # by candidate index, in the contest's candidate order
LOCK = "lock"  # the purpose of a ranked-pairs tie among pairs of equal margin


@dataclass(frozen=True)
class CondorcetOptions(Options):
    """The Condorcet methods' options: the tie order only. Their ballots hold one candidate per rank, so the
    instant-runoff rules that keep an overvoted or repeated ballot valid (or read ranks otherwise) are refused."""

    tie_break_order: tuple[str, ...] = option((), candidate_list(unique=True))

    def check(self, contest: Contest) -> None:
        why = f"is an instant-runoff option; {contest.method} compares candidates on ballots with one candidate per rank"
        refuse_options_of(contest, IrvOptions, CondorcetOptions, why)


# ---------------------------------------------------------------------------------------------
# The pairwise matrix and what follows from it alone


def pairwise_matrix(ids: Sequence[str], ballots: Ballots) -> Matrix:
    """P[x][y]: the weight of the ballots ranking x above y (y lower down, or not ranked at all).

    A candidate ranked on a ballot is above everyone but itself and those ranked before it, so each ballot
    adds its weight once to its candidates' `ranked` count and once per pair of its own candidates to
    `below` (y ranked above x): P[x][y] = ranked[x] - below[x][y]. Marks arrive in rank order."""
    index = {c: i for i, c in enumerate(ids)}
    ranked = [0] * len(ids)
    below = [[0] * len(ids) for _ in ids]
    for marks, weight in ballots.items():
        above: list[int] = []
        for candidate, _rank in marks:
            x = index[candidate]
            if x in above:  # a repeat (only where a rule let it through): it counts where it first appears
                continue
            ranked[x] += weight
            row = below[x]
            for y in above:
                row[y] += weight
            above.append(x)
    return [[ranked[x] - below[x][y] if x != y else 0 for y in range(len(ids))] for x in range(len(ids))]


def margins(matrix: Matrix) -> Matrix:
    return [[matrix[x][y] - matrix[y][x] for y in range(len(matrix))] for x in range(len(matrix))]


def closure(edges: list[list[bool]]) -> list[list[bool]]:
    """Who reaches whom along the edges (Warshall)."""
    reach = [list(row) for row in edges]
    for k in range(len(reach)):
        through = reach[k]
        for row in reach:
            if row[k]:
                for y, on in enumerate(through):
                    if on:
                        row[y] = True
    return reach


def smith_set(margin: Matrix) -> list[int]:
    """The candidates who reach every other one through candidates each not beaten by the next: the top
    class of that complete relation, whose members beat every candidate outside it."""
    n = len(margin)
    reach = closure([[x != y and margin[x][y] >= 0 for y in range(n)] for x in range(n)])
    return [x for x in range(n) if all(reach[x][y] for y in range(n) if y != x)]


# ---------------------------------------------------------------------------------------------
# From a relation to an order, and from an order to the winners


@dataclass
class _Ordered:
    order: list[int]
    steps: list[tuple[list[int], int]]  # each place: the candidates level for it (most favoured first), the one taken


def order_by_relation(n: int, above: Callable[[int, int], bool], favour: Sequence[int],
                      pick: Callable[[list[int], list[int]], int] | None = None) -> _Ordered:
    """Take, again and again, the most favoured remaining candidate whom no remaining one is `above`
    (a transitive, irreflexive relation, so there always is one), or the one `pick(level, order so far)` takes."""
    remaining = sorted(range(n), key=favour.__getitem__)
    ordered = _Ordered([], [])
    while remaining:
        level = [x for x in remaining if not any(above(y, x) for y in remaining)]
        taken = level[0] if pick is None or len(level) == 1 else pick(level, ordered.order)
        ordered.order.append(taken)
        ordered.steps.append((level, taken))
        remaining.remove(taken)
    return ordered


def _last_resort(contest: Contest) -> TieRule:
    return TieRule.OFFICIAL if official.official(contest.options) else order_rule(contest.options)


def _elect(contest: Contest, ordered: _Ordered, ids: Sequence[str]) -> tuple[list[str], list[str], list[TieBreak]]:
    """The first `seats` eligible candidates of the order win; `order` lists them first. A place taken by the
    tie order is a recorded tie when it elected someone and a candidate level with them was not elected."""
    pool = {c.id for c in contest.candidates if c.undeclared_write_in}
    order = [ids[x] for x in ordered.order]
    winners = [c for c in order if c not in pool][: contest.seats]
    ties = []
    for level, taken in ordered.steps:
        tied = [ids[x] for x in level if ids[x] not in pool]
        if ids[taken] in winners and any(c not in winners for c in tied):
            ties.append(TieBreak(tied, [ids[taken]], _last_resort(contest), "elect", 1))
    return winners, winners + [c for c in order if c not in winners], ties


# ---------------------------------------------------------------------------------------------
# The methods


@dataclass
class _Count:
    """What every method starts from, and how its result is written."""

    contest: Contest
    ids: tuple[str, ...]
    matrix: Matrix
    margin: Matrix
    favour: list[int]  # each candidate's place in the tie order, 0 = most favoured

    @classmethod
    def of(cls, contest: Contest, ballots: Ballots) -> _Count:
        CondorcetOptions.parse(contest)
        ids = contest.candidate_ids
        matrix = pairwise_matrix(ids, ballots)
        place = {c: i for i, c in enumerate(tie_order(contest))}
        return cls(contest, ids, matrix, margins(matrix), [place[c] for c in ids])

    def by_index(self, table: Matrix) -> dict[str, dict[str, int]]:
        return {self.ids[x]: {self.ids[y]: v for y, v in enumerate(row) if y != x} for x, row in enumerate(table)}

    def details(self, **own) -> dict:
        return {"pairwise": self.by_index(self.matrix), "smith_set": [self.ids[x] for x in smith_set(self.margin)], **own}

    def order(self, above: Callable[[int, int], bool]) -> _Ordered:
        """`order_by_relation`, a level that decides a seat left to the official with `tie_break: "official"`."""
        if not official.official(self.contest.options):
            return order_by_relation(len(self.ids), above, self.favour)
        pool = {c.id for c in self.contest.candidates if c.undeclared_write_in}

        def pick(level: list[int], placed: list[int]) -> int:
            eligible = [x for x in level if self.ids[x] not in pool]
            seats_left = self.contest.seats - sum(1 for x in placed if self.ids[x] not in pool)
            if seats_left <= 0 or len(eligible) <= seats_left:  # every one of them is elected, or none
                return level[0]
            tie = official.decide(self.contest.options, [self.ids[x] for x in eligible], "elect", 1)
            return self.ids.index(tie.chosen[0])

        return order_by_relation(len(self.ids), above, self.favour, pick)

    def by_relation(self, ordered: _Ordered, totals: dict[str, Number], own: dict) -> Outcome:
        winners, order, ties = _elect(self.contest, ordered, self.ids)
        outcome = Outcome(totals=totals, winners=winners, order=order, ties=ties)
        if ties:
            outcome.notes.append({TieRule.TIE_BREAK_ORDER: ORDER_NOTE, TieRule.OFFICIAL: OFFICIAL_NOTE}.get(
                _last_resort(self.contest), CUTOFF_NOTE))
        return self.with_round(outcome, own)

    def by_totals(self, totals: dict[str, Number], own: dict) -> Outcome:
        outcome = top_by_totals(self.contest, totals)
        for tie in outcome.ties:
            tie.round = 1
        return self.with_round(outcome, own)

    def with_round(self, outcome: Outcome, own: dict) -> Outcome:
        """The one round: every candidate's count, the winners, the ties, the matrix and the method's own."""
        outcome.rounds = [
            Round(round=1, tallies=dict(outcome.totals), elected=list(outcome.winners), tie_breaks=list(outcome.ties),
                  details=self.details(**own))
        ]
        return outcome


def strongest_paths(margin: Matrix) -> Matrix:
    """S[x][y]: the strength of the strongest path from x to y, a path's strength being its weakest
    margin, along candidates each beating the next (0: no such path). Floyd and Warshall's widest paths."""
    n = len(margin)
    strength = [[margin[x][y] if margin[x][y] > 0 else 0 for y in range(n)] for x in range(n)]
    for k in range(n):
        through = strength[k]
        for x in range(n):
            via = strength[x][k]
            if x == k or not via:
                continue
            row = strength[x]
            for y in range(n):
                if y != x and y != k and row[y] < min(via, through[y]):
                    row[y] = min(via, through[y])
    return strength


@register("schulze", mark_kind=MarkKind.RANK, preferential=True, options=CondorcetOptions)
def schulze(contest: Contest, ballots: Ballots) -> Outcome:
    state = _Count.of(contest, ballots)
    paths = strongest_paths(state.margin)
    n = len(state.ids)

    def above(x: int, y: int) -> bool:
        return paths[x][y] > paths[y][x]

    ordered = state.order(above)
    totals: dict[str, Number] = {c: sum(above(x, y) for y in range(n)) for x, c in enumerate(state.ids)}
    return state.by_relation(ordered, totals, {"strongest_paths": state.by_index(paths)})


@dataclass
class _Locking:
    locked: list[list[bool]]
    record: dict[str, list]  # "locked" and "skipped": [winner, loser, margin] in the order considered
    ties: list[TieBreak]


def _reaches(locked: list[list[bool]], start: int, goal: int) -> bool:
    seen, todo = {start}, [start]
    while todo:
        x = todo.pop()
        if x == goal:
            return True
        for y, on in enumerate(locked[x]):
            if on and y not in seen:
                seen.add(y)
                todo.append(y)
    return False


def lock_pairs(state: _Count) -> _Locking:
    """Tideman's locking, largest margin first, equal margins in the Zavist-Tideman order of the tie order.
    Within equal margins, the pairs that would close a cycle with the pairs locked before them are skipped
    whatever their order; if any other is skipped, the order decided it: a tie, recorded."""
    n, margin, favour, ids = len(state.ids), state.margin, state.favour, state.ids
    pairs = sorted(
        ((x, y) for x in range(n) for y in range(n) if margin[x][y] > 0),
        key=lambda p: (-margin[p[0]][p[1]], favour[p[0]], -favour[p[1]]),
    )
    done = _Locking([[False] * n for _ in range(n)], {"locked": [], "skipped": []}, [])
    start = 0
    while start < len(pairs):
        value = margin[pairs[start][0]][pairs[start][1]]
        end = start
        while end < len(pairs) and margin[pairs[end][0]][pairs[end][1]] == value:
            end += 1
        group = pairs[start:end]
        contested = [(x, y) for x, y in group if not _reaches(done.locked, y, x)]
        for x, y in group:
            fits = not _reaches(done.locked, y, x)
            if fits:
                done.locked[x][y] = True
            done.record["locked" if fits else "skipped"].append([ids[x], ids[y], value])
        if any(not done.locked[x][y] for x, y in contested):
            tied = sorted({c for pair in contested for c in pair}, key=favour.__getitem__)
            chosen = sorted({x for x, y in contested if done.locked[x][y]}, key=favour.__getitem__)
            done.ties.append(TieBreak([ids[c] for c in tied], [ids[c] for c in chosen],
                                      order_rule(state.contest.options), LOCK, 1))
        start = end
    return done


@register("ranked-pairs", mark_kind=MarkKind.RANK, preferential=True, options=CondorcetOptions)
def ranked_pairs(contest: Contest, ballots: Ballots) -> Outcome:
    state = _Count.of(contest, ballots)
    locking = lock_pairs(state)
    ordered = state.order(lambda x, y: locking.locked[x][y])
    reach = closure(locking.locked)
    totals: dict[str, Number] = {c: sum(reach[x]) for x, c in enumerate(state.ids)}
    outcome = state.by_relation(ordered, totals, locking.record)
    outcome.ties = locking.ties + outcome.ties
    outcome.rounds[0].tie_breaks = list(outcome.ties)
    if locking.ties:
        outcome.notes.append(f"Pairs of equal margin locked in the tie order ({order_rule(contest.options)})")
    return outcome


@register("copeland", mark_kind=MarkKind.RANK, preferential=True, options=CondorcetOptions)
def copeland(contest: Contest, ballots: Ballots) -> Outcome:
    state = _Count.of(contest, ballots)
    record, totals = {}, {}
    for x, c in enumerate(state.ids):
        others = [m for y, m in enumerate(state.margin[x]) if y != x]
        wins, ties = sum(m > 0 for m in others), sum(m == 0 for m in others)
        record[c] = {"wins": wins, "ties": ties, "losses": len(others) - wins - ties}
        totals[c] = wins + Fraction(ties, 2) if ties % 2 else wins + ties // 2
    return state.by_totals(totals, {"pairwise_record": record})


def minimax_scores(margin: Matrix) -> list[int]:
    """Each candidate's largest margin of defeat, 0 when nobody beats it."""
    return [max([0] + [margin[y][x] for y in range(len(margin)) if y != x]) for x in range(len(margin))]


@register("minimax", mark_kind=MarkKind.RANK, preferential=True, options=CondorcetOptions)
def minimax(contest: Contest, ballots: Ballots) -> Outcome:
    state = _Count.of(contest, ballots)
    scores = dict(zip(state.ids, minimax_scores(state.margin), strict=True))
    valid = sum(ballots.values())
    totals: dict[str, Number] = {c: valid - s for c, s in scores.items()}
    return state.by_totals(totals, {"worst_defeat": scores})
