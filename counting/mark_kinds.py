"""The kinds of mark, one object each: what a mark's value means, how it is judged, how it is stored.

A method names its kind when it registers (`Method.mark_kind`, a `MarkKind`); everything that
depends on the kind asks `MARK_KINDS[kind]` instead of switching on it:
- validation (`counting.validation.Judge`): the checks on the values, how many candidates a ballot
  marks, the canonical order the methods read, and the values of the common ballot its fast path
  recognises;
- the stored form (`models.marks`): which integer a value is stored as, in which order the marks
  are stored, and how they read back;
- tests and benchmarks: the marks a voter with a given order of preference casts (`marks_for`).

Every check looks at all the marks before deciding, so a reason never depends on their order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import eq, itemgetter
from typing import Any

from .ballots import Marks
from .contest import Contest
from .options import Options, option, positive_integer
from .ranked import invalidates
from .vocabulary import MarkKind

# The checks' view of one contest: candidates known, most marks allowed, and the kind's own settings.
Limits = Any  # a Judge: `known`, `max_votes`, `settings`


@dataclass(frozen=True)
class PointOptions(Options):
    """The option of a points contest (cumulative): a voter gives each candidate 1 to `checks` points."""

    checks: int = option(1, positive_integer, nullable=False)


def _repeats(items: list) -> bool:
    return len(set(items)) != len(items)


class MarkRules:
    """One mark per candidate, value 1 (`check`); the base of the other kinds."""

    kind = MarkKind.CHECK
    ranked = False  # values are ranks: the canonical order is by rank, and the fast path reads 1, 2, 3...

    # ------------------------------------------------------------------ validation

    def max_votes(self, contest: Contest) -> int:
        return contest.effective_max_votes

    def settings(self, contest: Contest) -> Any:
        """What the checks need of the contest's options (nothing, for check marks)."""
        return None

    def straight(self, limit: int) -> tuple:
        """The values of the common ballot the fast path recognises, up to `limit` marks (1, 1, 1...)."""
        return (1,) * limit

    def reason(self, limits: Limits, candidates: list, values: list) -> str | None:
        """Why a ballot whose candidates are all known is invalid, or None."""
        if not all(isinstance(value, int) and value == 1 for value in values):
            return "invalid-value"
        return _too_many(limits, candidates)

    def marked(self, marks: Marks, candidates: list) -> int:
        """How many candidates the ballot marks (what min_votes and max_votes count)."""
        return len(set(candidates))

    def canonical(self, marks: Marks, values: list) -> tuple[Marks, bool]:
        """A valid ballot's marks in the order the methods read, and whether its ranks have a gap."""
        return tuple(sorted(marks)), False

    # ------------------------------------------------------------------ stored form

    def stored_value(self, value: Any, positions: Mapping[str, int]) -> int | None:
        """The integer a value is stored as, or None when it has none (the record is kept as JSON)."""
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def stored_order(self, pairs: list[tuple[int, int]]) -> None:
        """Sort (candidate position, stored value) pairs into the stored order, in place."""
        pairs.sort()

    def decode(self, keys: Sequence[str], pairs: Iterable[tuple[int, int]]) -> Marks:
        return tuple((keys[p], v) for p, v in pairs)

    # ------------------------------------------------------------------ for tests and benchmarks

    def marks_for(self, order: Sequence[str]) -> list[list]:
        """The marks of a voter who prefers the candidates in `order` (most preferred first) and marks
        all of them."""
        return [[c, 1] for c in order]


def _too_many(limits: Limits, candidates: list) -> str | None:
    if _repeats(candidates):
        return "duplicate-candidate"
    if len(candidates) > limits.max_votes:
        return "too-many-marks"
    return None


class PointMarks(MarkRules):
    """Each marked candidate gets 1 to `checks` points (cumulative)."""

    kind = MarkKind.POINTS

    def settings(self, contest: Contest) -> int:
        return PointOptions.parse(contest).checks

    def straight(self, limit: int) -> tuple:
        return ()  # no fast path: a points ballot's values vary

    def reason(self, limits: Limits, candidates: list, values: list) -> str | None:
        checks = limits.settings
        if not all(isinstance(value, int) and 1 <= value <= checks for value in values):
            return "invalid-value"
        return _too_many(limits, candidates)


class RankMarks(MarkRules):
    """Ranks: 1 first. Two candidates at one rank (an overvote) or one candidate at two ranks are
    invalid unless the contest's ballot rules keep them (`counting.ranked`)."""

    kind = MarkKind.RANK
    ranked = True

    def settings(self, contest: Contest) -> tuple[bool, bool]:
        return invalidates(contest.options)

    def straight(self, limit: int) -> tuple:
        return tuple(range(1, limit + 1))

    def reason(self, limits: Limits, candidates: list, ranks: list) -> str | None:
        if not all(isinstance(rank, int) and 1 <= rank <= limits.max_votes for rank in ranks):
            return "rank-out-of-range"
        overvote_invalidates, repeat_invalidates = limits.settings
        overvote = len(set(zip(ranks, candidates, strict=True))) > len(set(ranks))  # two or more candidates at one rank
        if overvote and overvote_invalidates:
            return "overvote"
        if repeat_invalidates and _repeats(candidates):
            return "duplicate-candidate"
        return None

    def canonical(self, marks: Marks, values: list) -> tuple[Marks, bool]:
        distinct = sorted(set(values))
        return tuple(sorted(marks, key=itemgetter(1, 0))), distinct != list(range(1, len(distinct) + 1))

    def stored_order(self, pairs: list[tuple[int, int]]) -> None:
        pairs.sort(key=lambda p: (p[1], p[0]))

    def marks_for(self, order: Sequence[str]) -> list[list]:
        return [[c, rank] for rank, c in enumerate(order, 1)]


class PairMarks(MarkRules):
    """(winner, loser) comparisons (pairwise-beta): the value is the loser's id."""

    kind = MarkKind.PAIR

    def max_votes(self, contest: Contest) -> int:
        if contest.max_votes is not None:
            return contest.max_votes
        n = len(contest.candidates)
        return n * (n - 1) // 2  # every pair once

    def straight(self, limit: int) -> tuple:
        return ()

    def reason(self, limits: Limits, winners: list, losers: list) -> str | None:
        named = [loser for loser in losers if isinstance(loser, str)]
        if not limits.known.issuperset(named):
            return "unknown-candidate"
        if len(named) != len(losers) or any(map(eq, winners, losers)):
            return "invalid-value"
        pairs = set(zip(winners, losers, strict=True))
        if len(pairs) != len(losers):
            return "duplicate-pair"
        if not pairs.isdisjoint(zip(losers, winners, strict=True)):
            return "contradictory-pair"
        if len(pairs) > limits.max_votes:
            return "too-many-marks"
        return None

    def marked(self, marks: Marks, candidates: list) -> int:
        return len(marks)  # pairs, not candidates

    def stored_value(self, value: Any, positions: Mapping[str, int]) -> int | None:
        return positions.get(value) if isinstance(value, str) else None

    def decode(self, keys: Sequence[str], pairs: Iterable[tuple[int, int]]) -> Marks:
        return tuple((keys[p], keys[v]) for p, v in pairs)

    def marks_for(self, order: Sequence[str]) -> list[list]:
        return [[w, loser] for i, w in enumerate(order) for loser in order[i + 1 :]]


MARK_KINDS: dict[MarkKind, MarkRules] = {rules.kind: rules for rules in (MarkRules(), PointMarks(), RankMarks(), PairMarks())}
