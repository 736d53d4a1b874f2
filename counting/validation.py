"""Ballot classification: every ballot is exactly one of valid, blank, explicit or implicit invalid.

`total = valid + blank + explicit invalid + implicit invalid`, always: nothing is dropped.

A ballot's class and reason depend only on its marks as a multiset, never on their order: every
check looks at all the marks before the next check runs, and the checks run in a fixed order:
unknown candidate, values (rank or checks), overvote, repeats, then counts. Each distinct set of
marks is judged once per count, however many records carry it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import eq, itemgetter
from typing import Iterable, Mapping

from .ballots import MAX_MARKS, Ballot, Marks
from .contest import Contest
from .methods import METHODS
from .vocabulary import INVALIDATE


@dataclass
class Participation:
    """Additive participation figures: an area's, a subtree's and a contest's are sums."""

    total_ballots: int = 0  # records, unweighted
    total_votes: int = 0  # weighted, like every figure below
    valid: int = 0
    blank: int = 0
    invalid_explicit: int = 0
    invalid_implicit: int = 0
    invalid_reasons: Counter = field(default_factory=Counter)
    alerts: Counter = field(default_factory=Counter)
    expected_votes: int = 0
    votes_actually: int = 0
    under_votes: int = 0
    over_votes: int = 0

    def __add__(self, other: "Participation") -> "Participation":
        return Participation(
            total_ballots=self.total_ballots + other.total_ballots,
            total_votes=self.total_votes + other.total_votes,
            valid=self.valid + other.valid,
            blank=self.blank + other.blank,
            invalid_explicit=self.invalid_explicit + other.invalid_explicit,
            invalid_implicit=self.invalid_implicit + other.invalid_implicit,
            invalid_reasons=self.invalid_reasons + other.invalid_reasons,
            alerts=self.alerts + other.alerts,
            expected_votes=self.expected_votes + other.expected_votes,
            votes_actually=self.votes_actually + other.votes_actually,
            under_votes=self.under_votes + other.under_votes,
            over_votes=self.over_votes + other.over_votes,
        )

    @property
    def total_invalid(self) -> int:
        return self.invalid_explicit + self.invalid_implicit

    def to_json(self) -> dict:
        return {
            "total_ballots": self.total_ballots,
            "total_votes": self.total_votes,
            "valid": self.valid,
            "blank": self.blank,
            "invalid_explicit": self.invalid_explicit,
            "invalid_implicit": self.invalid_implicit,
            "invalid_reasons": dict(sorted(self.invalid_reasons.items())),
            "alerts": dict(sorted(self.alerts.items())),
            "expected_votes": self.expected_votes,
            "votes_actually": self.votes_actually,
            "under_votes": self.under_votes,
            "over_votes": self.over_votes,
        }

    @classmethod
    def from_json(cls, obj: dict) -> "Participation":
        return cls(
            **{k: obj[k] for k in obj if k not in ("invalid_reasons", "alerts")},
            invalid_reasons=Counter(obj.get("invalid_reasons", {})),
            alerts=Counter(obj.get("alerts", {})),
        )


@dataclass
class Classification:
    participation: Participation
    valid: Counter  # canonical marks -> summed weight of the valid ballots with those marks


# What the marks alone decide about a ballot that is neither spoiled nor unreadable, as a plain tuple
# (it is built once per distinct ballot): (reason or None, candidates marked (pairs, for pairwise-beta),
# the marks in the canonical order the methods read, whether the ranks have a gap).
Verdict = tuple[str | None, int, Marks, bool]


def classify(
    contest: Contest,
    groups: Iterable[tuple[Ballot, int]] = (),
    plain: Mapping[Marks, int] | None = None,
    judge: Judge | None = None,
) -> Classification:
    """Classify (ballot, records) pairs, a ballot's weight being the summed weight of its records,
    and the `plain` records: marks (each distinct) -> number of records of weight 1, not spoiled, readable.
    A caller that classifies the same contest's ballots many times passes its own `judge`."""
    judge = judge or Judge(contest)
    max_votes = judge.max_votes
    records_total = votes = expected = 0
    explicit = implicit = over = under = blank = valid_votes = actually = 0
    reasons: Counter = Counter()
    alerts: Counter = Counter()
    plain = plain if plain is not None else {}
    # A valid plain ballot whose marks are already canonical keeps the entry grouping made for it:
    # copying `plain` reuses the stored hashes, where inserting every key again would hash it anew.
    valid: Counter = Counter(plain)
    dropped: list[Marks] = []  # copied marks that are not a valid ballot's canonical marks
    to_add: list[tuple[Marks, int]] = []  # (canonical marks, weight) of the other valid ballots
    counts = plain.values()
    # (marks, weight, records, explicit invalid, defect, whether `valid` holds a copy of the entry)
    entries = chain(
        ((b.marks, b.weight, n, b.explicit_invalid, b.defect, False) for b, n in groups),
        zip(plain, counts, counts, repeat(False), repeat(None), repeat(True)),
    )
    remembered, fresh = judge, judge.verdict  # groups may repeat marks; plain marks are distinct
    for marks, w, n, explicit_invalid, defect, copied in entries:
        records_total += n
        votes += w
        expected += w * max_votes
        if explicit_invalid:
            explicit += w
            continue
        if defect:
            reason, marked, canonical, gap = defect, 0, (), False
        else:
            reason, marked, canonical, gap = fresh(marks) if copied else remembered(marks)
        if reason is not None:
            implicit += w
            reasons[reason] += w
            if reason == "too-many-marks":
                over += w
            if copied:
                dropped.append(marks)
            continue
        if marked < max_votes:
            under += w * (max_votes - marked)
        if not marks:
            blank += w
            if copied:
                dropped.append(marks)
            continue
        valid_votes += w
        actually += w * marked
        if marked < max_votes:
            alerts["under-vote"] += w
        if gap:
            alerts["rank-gap"] += w
        if copied:
            if canonical is marks or canonical == marks:  # equal: the very same marks, in the same order
                continue
            dropped.append(marks)
        to_add.append((canonical, w))
    for marks in dropped:  # first, so that the sums below start from the kept entries only
        del valid[marks]
    for canonical, w in to_add:
        valid[canonical] = valid.get(canonical, 0) + w
    participation = Participation(
        total_ballots=records_total,
        total_votes=votes,
        valid=valid_votes,
        blank=blank,
        invalid_explicit=explicit,
        invalid_implicit=implicit,
        invalid_reasons=reasons,
        alerts=alerts,
        expected_votes=expected,
        votes_actually=actually,
        under_votes=under,
        over_votes=over,
    )
    return Classification(participation, valid)


class Judge:
    """The verdict on a ballot's marks for one contest. Called, it remembers each distinct set of
    marks' verdict (groups may repeat marks with other weights); `verdict` computes it afresh."""

    def __init__(self, contest: Contest):
        self.kind = METHODS[contest.method].mark_kind
        self.known = frozenset(contest.candidate_ids)
        self.max_votes = contest.effective_max_votes
        if self.kind == "pair" and contest.max_votes is None:
            n = len(contest.candidates)
            self.max_votes = n * (n - 1) // 2
        self.min_votes = contest.min_votes
        self.blank_allowed = contest.blank_policy != "not-allowed"
        self.check = _CHECKS[self.kind]
        self.contest = contest
        # The values of a straightforward ballot: 1, 2, 3... or 1, 1, 1... (see `verdict`).
        limit = min(self.max_votes, MAX_MARKS) if self.kind in ("check", "rank") else 0
        self.straight = tuple(range(1, limit + 1)) if self.kind == "rank" else (1,) * limit
        self.verdicts: dict[Marks, Verdict] = {}

    def __call__(self, marks: Marks) -> Verdict:
        verdict = self.verdicts.get(marks)
        if verdict is None:
            verdict = self.verdicts[marks] = self.verdict(marks)
        return verdict

    def verdict(self, marks: Marks) -> Verdict:
        """The common case is decided here, fast: distinct known candidates, at least `min_votes` and
        at most `max_votes` of them, each marked 1 (check marks) or ranked 1, 2, 3... in that order
        (ranks). A value must be an `int` equal to its place in `straight`: one that merely equals it
        (1.0, True) is left to the full checks, as is every other ballot."""
        k = len(marks)
        if 0 < k <= len(self.straight) and k >= self.min_votes:
            chosen = dict(marks)  # candidate -> value, in the order marked; shorter when a candidate repeats
            values = chosen.values()
            if (
                len(chosen) == k
                and all(map(eq, values, self.straight))
                and {*map(type, values)} == _INT
                and self.known.issuperset(chosen)
            ):
                return (None, k, tuple(marks) if self.kind == "rank" else tuple(sorted(marks)), False)
        return self._full_verdict(marks)

    def _full_verdict(self, marks: Marks) -> Verdict:
        candidates = [candidate for candidate, _ in marks]
        values = [value for _, value in marks]
        if not self.known.issuperset(candidates):
            reason = "unknown-candidate"
        else:
            reason = self.check(self, candidates, values)
        marked = len(marks) if self.kind == "pair" else len(set(candidates))
        if reason is None and not marks and not self.blank_allowed:
            reason = "blank-not-allowed"
        if reason is None and marked < self.min_votes:
            reason = "too-few-marks"
        if reason is not None:
            return (reason, marked, (), False)
        if self.kind == "rank":
            return (None, marked, tuple(sorted(marks, key=itemgetter(1, 0))), _has_gap(values))
        return (None, marked, tuple(sorted(marks)), False)


_INT = {int}

# The checks after unknown candidates, one per kind of mark: (judge, candidates, values) -> reason or None.
# Each looks at every mark before deciding, so the reason never depends on the order of the marks.


def _repeats(items: list) -> bool:
    return len(set(items)) != len(items)


def _check_marks(judge: Judge, candidates: list, values: list) -> str | None:
    if not all(isinstance(value, int) and value == 1 for value in values):
        return "invalid-value"
    if _repeats(candidates):
        return "duplicate-candidate"
    if len(candidates) > judge.max_votes:
        return "too-many-marks"
    return None


def _check_points(judge: Judge, candidates: list, values: list) -> str | None:
    checks = judge.contest.options.get("checks", 1)
    if not all(isinstance(value, int) and 1 <= value <= checks for value in values):
        return "invalid-value"
    if _repeats(candidates):
        return "duplicate-candidate"
    if len(candidates) > judge.max_votes:
        return "too-many-marks"
    return None


def _check_ranks(judge: Judge, candidates: list, ranks: list) -> str | None:
    if not all(isinstance(rank, int) and 1 <= rank <= judge.max_votes for rank in ranks):
        return "rank-out-of-range"
    options = judge.contest.options
    overvote = len(set(zip(ranks, candidates))) > len(set(ranks))  # two or more candidates at one rank
    if overvote and options.get("overvote_rule", INVALIDATE) == INVALIDATE:
        return "overvote"
    if _repeats(candidates) and options.get("duplicate_candidate_rule", INVALIDATE) == INVALIDATE:
        return "duplicate-candidate"
    return None


def _check_pairs(judge: Judge, winners: list, losers: list) -> str | None:
    named = [loser for loser in losers if isinstance(loser, str)]
    if not judge.known.issuperset(named):
        return "unknown-candidate"
    if len(named) != len(losers) or any(map(eq, winners, losers)):
        return "invalid-value"
    pairs = set(zip(winners, losers))
    if len(pairs) != len(losers):
        return "duplicate-pair"
    if not pairs.isdisjoint(zip(losers, winners)):
        return "contradictory-pair"
    if len(pairs) > judge.max_votes:
        return "too-many-marks"
    return None


_CHECKS = {"check": _check_marks, "points": _check_points, "rank": _check_ranks, "pair": _check_pairs}


def _has_gap(ranks: list) -> bool:
    distinct = sorted(set(ranks))
    return distinct != list(range(1, len(distinct) + 1))
