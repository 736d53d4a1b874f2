"""Reading ranked ballots: the ballot rules every ranked method shares, in one place.

The rules (contest options, counting.md, instant-runoff; RCTab's names in brackets):
- `overvote_rule` [overvoteRule]: what two or more candidates at one rank do. `invalidate-ballot`
  (the default) makes the ballot invalid (validation); the others keep it valid and decide, as the
  count moves down the ballot, whether that rank exhausts it, is passed over, or counts for its one
  continuing candidate.
- `duplicate_candidate_rule` [exhaustOnDuplicateCandidate]: `invalidate-ballot`, `skip`, `exhaust`.
- `max_skipped_ranks` [maxSkippedRanksAllowed]: how many unmarked ranks the count may jump.

Who reads them: validation (through the rank mark kind: `invalidates`), instant-runoff and rcv
(`BallotRules`, compiled into each ballot's reachable choices by `compile_ballot`, then walked by
`Piles.move` as candidates leave), and the methods that need one candidate per position and refuse
the other rules (`require_one_candidate_per_rank`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .ballots import Marks
from .contest import Contest
from .errors import DefinitionError
from .numbers import Number
from .options import Options, choice, integer, option
from .vocabulary import INVALIDATE, DuplicateRule, Exhausted, OvervoteRule

# Where a ballot goes instead of a candidate index when it exhausts.
RAN_OUT = -1  # past its last reachable choice: the compiled reason applies
OVERVOTED = -2  # at an overvote with two or more continuing candidates


@dataclass(frozen=True)
class BallotRules(Options):
    """How a ranked ballot is read; the options of every method that counts down a ballot's ranks."""

    overvote_rule: OvervoteRule = option(OvervoteRule.INVALIDATE_BALLOT, choice(OvervoteRule))
    duplicate_candidate_rule: DuplicateRule = option(DuplicateRule.INVALIDATE_BALLOT, choice(DuplicateRule))
    max_skipped_ranks: int | None = option(None, integer(0, null="unlimited"))


def invalidates(options: Mapping) -> tuple[bool, bool]:
    """Whether an overvote, and whether a repeated candidate, makes a ranked ballot invalid.

    Read without checks (absent or null: the default, `invalidate-ballot`): validation may judge a
    contest whose definition was never checked, and a method refuses a value it cannot count
    before any of its ballots is judged."""
    return (
        (options.get("overvote_rule") or INVALIDATE) == INVALIDATE,
        (options.get("duplicate_candidate_rule") or INVALIDATE) == INVALIDATE,
    )


def require_one_candidate_per_rank(contest: Contest) -> None:
    """Refuse the rules that keep an overvoted or repeated ballot valid: for methods that need one
    candidate at each position (points methods)."""
    for name in ("overvote_rule", "duplicate_candidate_rule"):
        if contest.options.get(name, INVALIDATE) != INVALIDATE:
            raise DefinitionError(
                f"contest.options.{name}",
                f"must be {INVALIDATE!r} for {contest.method}: each position holds exactly one candidate",
            )


# ---------------------------------------------------------------------------------------------
# Reading one ballot: every rule that does not depend on who is continuing, applied once


def _rank_groups(marks: Marks) -> list[tuple[int, tuple[str, ...]]]:
    """The marks grouped by rank, top rank first. A candidate marked twice at the same rank is
    one mark."""
    groups: list[tuple[int, tuple[str, ...]]] = []
    for candidate, rank in sorted(marks, key=lambda mark: (mark[1], mark[0])):
        if groups and groups[-1][0] == rank:
            if candidate not in groups[-1][1]:
                groups[-1] = (rank, groups[-1][1] + (candidate,))
        else:
            groups.append((rank, (candidate,)))
    return groups


def _skips_too_many(rank: int, last_rank: int, max_skipped: int | None) -> bool:
    """max_skipped_ranks: moving down the ballot, the count may jump at most this many unmarked
    ranks past the last rank it looked at (rank 0 before the first); a longer jump exhausts it."""
    return max_skipped is not None and rank - last_rank - 1 > max_skipped


def _repeats(group: tuple[str, ...], seen: set[str], rule: DuplicateRule) -> bool:
    """duplicate_candidate_rule `exhaust`: the ballot exhausts when the count reaches a candidate's
    second occurrence. With `skip` a later occurrence is an ordinary mark: the count only reaches
    it when the earlier one was passed over, so it is passed over too, unless the earlier one sat
    in an overvote skipped by `always-skip-to-next-rank` (RCTab then counts it)."""
    return rule == DuplicateRule.EXHAUST and any(c in seen for c in group)


def _overvote(group: tuple[int, ...], rule: OvervoteRule) -> tuple[int, ...] | str | None:
    """What an overvoted rank (two or more candidates) becomes under overvote_rule:
    `exhaust-immediately` exhausts the ballot there (returns OVERVOTE); `always-skip-to-next-rank`
    passes the rank over (None); `exhaust-if-multiple-continuing` keeps the group, decided each
    round by `overvote_choice`. (`invalidate-ballot` ballots never reach the count.)"""
    if rule == OvervoteRule.EXHAUST_IF_MULTIPLE_CONTINUING:
        return group
    if rule == OvervoteRule.ALWAYS_SKIP_TO_NEXT_RANK:
        return None
    return Exhausted.OVERVOTE


def overvote_choice(group: tuple[int, ...], alive: list[bool]) -> int | None:
    """exhaust-if-multiple-continuing, each round: the overvoted rank counts for its one continuing
    candidate, is passed over when none is continuing, and exhausts the ballot when two or more are."""
    chosen = None
    for candidate in group:
        if alive[candidate]:
            if chosen is not None:
                return OVERVOTED
            chosen = candidate
    return chosen


def compile_ballot(marks: Marks, rules: BallotRules, index: Mapping[str, int]) -> tuple[tuple, Exhausted]:
    """The choices the count can reach on this ballot, top first, and why the ballot exhausts when
    it runs past the last one. A choice is a candidate index, or a tuple of indexes for an overvote
    kept for `exhaust-if-multiple-continuing`. The order of the checks at each rank is RCTab's:
    skipped ranks, then a repeated candidate, then an overvote."""
    choices: list = []
    last_rank = 0
    seen: set[str] = set()
    for rank, group in _rank_groups(marks):
        if _skips_too_many(rank, last_rank, rules.max_skipped_ranks):
            return tuple(choices), Exhausted.SKIPPED_RANKS
        last_rank = rank
        if _repeats(group, seen, rules.duplicate_candidate_rule):
            return tuple(choices), Exhausted.REPEATED_CANDIDATE
        seen.update(group)
        if len(group) == 1:
            choices.append(index[group[0]])
            continue
        outcome = _overvote(tuple(index[c] for c in group), rules.overvote_rule)
        if outcome == Exhausted.OVERVOTE:
            return tuple(choices), Exhausted.OVERVOTE
        if outcome is not None:
            choices.append(outcome)
    return tuple(choices), Exhausted.NO_MORE_CHOICES


def compile_straight(ballots: Sequence[Marks], ids: Sequence[str], repeats_matter: bool) -> list[tuple | None]:
    """The common ballots (one candidate at each of ranks 1, 2, 3..., in that order) compiled to
    their candidate indexes, all at once; None for each ballot that needs `compile_ballot`. Every position
    has its own table from the one kind of mark it may hold, (candidate, the rank of that position),
    to the candidate's index, so a mark out of place (a gap, an overvote, an unsorted ballot) misses
    its table; a ballot longer than the tables reaches the empty one after them. A repeated
    candidate only matters when the duplicate rule is `exhaust` (see `_repeats`)."""
    positions = min(max(map(len, ballots), default=0), _STRAIGHT_RANKS)
    tables = [{(c, rank): i for i, c in enumerate(ids)} for rank in range(1, positions + 1)] + [{}]
    lookup = dict.__getitem__
    compiled: list[tuple | None] = []
    for marks in ballots:
        try:
            choices = tuple(map(lookup, tables, marks))
        except KeyError:
            choices = None
        if repeats_matter and choices and len(set(choices)) != len(choices):
            choices = None
        compiled.append(choices)
    return compiled


_STRAIGHT_RANKS = 32  # longer ballots are rare enough to leave to `compile_ballot`


class Compiled:
    """The distinct ballots, each read once into the choices the count can reach and why it
    exhausts when it runs out of them; shared by every pass of a multi-pass count."""

    def __init__(self, ids: Sequence[str], ballots: Mapping[Marks, int], rules: BallotRules):
        index = {c: i for i, c in enumerate(ids)}
        marks_of = list(ballots)
        self.weights: list[int] = list(ballots.values())
        self.choices: list = compile_straight(marks_of, ids, rules.duplicate_candidate_rule == DuplicateRule.EXHAUST)
        self.ends: list[Exhausted] = [Exhausted.NO_MORE_CHOICES] * len(marks_of)
        for b, choices in enumerate(self.choices):
            if choices is None:
                self.choices[b], self.ends[b] = compile_ballot(marks_of[b], rules, index)


# ---------------------------------------------------------------------------------------------
# Moving ballots down their ranks as candidates stop continuing


class Piles:
    """Who each distinct ballot counts for now, bucketed by candidate, and the weight exhausted by
    reason. A ballot counts what `worth` says: its weight (instant-runoff), or its weight times
    its remaining value (rcv's surplus transfers change it). Ballots are bucketed so that a round
    re-reads only the ballots of the candidates who just stopped continuing."""

    def __init__(self, compiled: Compiled, alive: list[bool], worth: list[Number]):
        self.choices, self.ends = compiled.choices, compiled.ends
        self.alive = alive
        self.worth = worth
        self.votes: list[Number] = [0] * len(alive)
        self.holders: list[list[int]] = [[] for _ in alive]  # ballot numbers counting for each candidate
        self.position = [-1] * len(self.choices)  # the choice each ballot counts for now
        self.exhausted_by: dict[str, Number] = {}

    def start(self) -> None:
        """The first round: a ballot whose first choice is a continuing candidate counts for it;
        the others (no choice, an overvote first, an excluded first choice) are walked by `move`."""
        holders, votes, worth, alive, position = self.holders, self.votes, self.worth, self.alive, self.position
        others = []
        for b, choices in enumerate(self.choices):
            if choices and choices[0].__class__ is int and alive[choices[0]]:
                position[b] = 0
                holders[choices[0]].append(b)
                votes[choices[0]] += worth[b]
            else:
                others.append(b)
        self.move(others)

    def release(self, candidate: int) -> list[int]:
        """The candidate stops continuing: its ballots, to be moved on."""
        self.alive[candidate] = False
        ballots, self.holders[candidate] = self.holders[candidate], []
        self.votes[candidate] = 0
        return ballots

    def move(self, ballots: Iterable[int]) -> None:
        """Walk each ballot down from just after its current choice to the first continuing one;
        exhaust it if there is none. The hot loop of every ranked count, hence the locals."""
        choices, position, worth, alive = self.choices, self.position, self.worth, self.alive
        holders, votes = self.holders, self.votes
        for b in ballots:
            ballot = choices[b]
            at = position[b] + 1
            candidate = RAN_OUT
            while at < len(ballot):
                choice = ballot[at]
                if choice.__class__ is not int:
                    choice = overvote_choice(choice, alive)
                    if choice is None:
                        at += 1
                        continue
                    if choice == OVERVOTED:
                        candidate = OVERVOTED
                        break
                if alive[choice]:
                    candidate = choice
                    break
                at += 1
            if candidate >= 0:
                position[b] = at
                holders[candidate].append(b)
                votes[candidate] += worth[b]
            else:
                self.exhaust(b, Exhausted.OVERVOTE if candidate == OVERVOTED else self.ends[b])

    def moved(self, ballots: Iterable[int], exhaust: str | None = None) -> tuple[dict[int, Number], Number]:
        """`move` the ballots (or, given a reason, `exhaust` them all) and say where their votes went:
        the votes each candidate (by number) gained, and the votes exhausted. Read off the totals
        before and after, so the hot loop stays as it is."""
        before, exhausted = list(self.votes), sum(self.exhausted_by.values())
        if exhaust is None:
            self.move(ballots)
        else:
            for b in ballots:
                self.exhaust(b, exhaust)
        gains = {i: v - before[i] for i, v in enumerate(self.votes) if v != before[i]}
        return gains, sum(self.exhausted_by.values()) - exhausted

    def exhaust(self, b: int, reason: str) -> None:
        self.exhausted_by[reason] = self.exhausted_by.get(reason, 0) + self.worth[b]
