"""Ballot classification: every ballot is exactly one of valid, blank, explicit or implicit invalid.

`total = valid + blank + explicit invalid + implicit invalid`, always: nothing is dropped.

A ballot's class and reason depend only on its marks as a multiset, never on their order: every
check looks at all the marks before the next check runs, and the checks run in a fixed order:
unknown candidate, values (rank or checks), overvote, repeats, then counts. Each distinct set of
marks is judged once per count, however many records carry it.

Two forms of the same classification: `classify`, the fast one every count uses (a fast path for
the common ballot, each verdict remembered, the grouping's hashes reused), and `classify_reference`,
the rules read one ballot at a time with no shortcut; tests/engine/test_classification.py holds
them equal on random ballots of every kind of mark. What a mark's value may be is the mark kind's
(`counting.mark_kinds`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain, repeat

from .ballots import MAX_MARKS, Ballot, Marks
from .contest import Contest
from .mark_kinds import MARK_KINDS
from .methods import METHODS


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

    def __add__(self, other: Participation) -> Participation:
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
    def from_json(cls, obj: dict) -> Participation:
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
    plain = plain if plain is not None else {}
    participation, dropped, to_add = _sum(_entries(groups, plain), judge)
    return Classification(participation, _valid_multiset(plain, dropped, to_add))


# An entry to classify: (marks, weight, records, explicit invalid, defect, whether it is a `plain` entry).
Entry = tuple[Marks, int, int, bool, "str | None", bool]


def _entries(groups: Iterable[tuple[Ballot, int]], plain: Mapping[Marks, int]) -> Iterator[Entry]:
    """The groups, then the plain records (each record weight 1, so weight = records), as entries."""
    counts = plain.values()
    return chain(
        ((b.marks, b.weight, n, b.explicit_invalid, b.defect, False) for b, n in groups),
        zip(plain, counts, counts, repeat(False), repeat(None), repeat(True)),
    )


def _sum(  # noqa: C901 (the hot loop of a count: one pass, its branches inline)
    entries: Iterable[Entry], judge: Judge
) -> tuple[Participation, list[Marks], list[tuple[Marks, int]]]:
    """The participation figures of the entries, and how the valid multiset differs from the plain
    records: the plain marks that are not a valid ballot's canonical marks (`dropped`), and
    (canonical marks, weight) of every other valid ballot (`to_add`). The hot loop of a count."""
    max_votes = judge.max_votes
    remembered, fresh = judge, judge.verdict  # groups may repeat marks; plain marks are distinct
    records_total = votes = expected = explicit = implicit = over = under = blank = valid_votes = actually = 0
    reasons: Counter = Counter()
    alerts: Counter = Counter()
    dropped: list[Marks] = []
    to_add: list[tuple[Marks, int]] = []
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
        if copied and (canonical is marks or canonical == marks):  # the very same marks, in the same order
            continue
        if copied:
            dropped.append(marks)
        to_add.append((canonical, w))
    participation = Participation(
        total_ballots=records_total, total_votes=votes, valid=valid_votes, blank=blank,
        invalid_explicit=explicit, invalid_implicit=implicit, invalid_reasons=reasons, alerts=alerts,
        expected_votes=expected, votes_actually=actually, under_votes=under, over_votes=over,
    )
    return participation, dropped, to_add


def figures_key(ballot: Ballot, verdict: Verdict | None) -> tuple:
    """What alone decides the participation figures one ballot adds (`_sum`, per unit of weight):
    two ballots with the same key add the same figures. `verdict` is the judge's on its marks; it is
    not read for an explicitly invalid or a defective ballot (None will do)."""
    if ballot.explicit_invalid:
        return ("explicit",)
    if ballot.defect:
        return ("defect", ballot.defect)
    reason, marked, _canonical, gap = verdict
    return ("marks", reason, marked, not ballot.marks, gap)


def _valid_multiset(plain: Mapping[Marks, int], dropped: list[Marks], to_add: list[tuple[Marks, int]]) -> Counter:
    """Canonical marks -> summed weight of the valid ballots. A valid plain ballot whose marks are
    already canonical keeps the entry grouping made for it: copying `plain` reuses its stored
    hashes, where inserting every key again would hash each anew."""
    valid: Counter = Counter(plain)
    for marks in dropped:  # first, so that the sums below start from the kept entries only
        del valid[marks]
    for canonical, w in to_add:
        valid[canonical] = valid.get(canonical, 0) + w
    return valid


def classify_reference(contest: Contest, groups: Iterable[tuple[Ballot, int]]) -> Classification:
    """`classify` as the rules state it, one (ballot, records) pair at a time: every ballot judged
    by the full checks (no fast path, nothing remembered) and its figures added to the total."""
    judge = Judge(contest)
    p = Participation()
    valid: Counter = Counter()
    for ballot, records in groups:
        w = ballot.weight
        p.total_ballots += records
        p.total_votes += w
        p.expected_votes += w * judge.max_votes
        if ballot.explicit_invalid:
            p.invalid_explicit += w
            continue
        reason, marked, canonical, gap = (ballot.defect, 0, (), False) if ballot.defect else judge.full_verdict(ballot.marks)
        if reason is not None:
            p.invalid_implicit += w
            p.invalid_reasons[reason] += w
            if reason == "too-many-marks":
                p.over_votes += w
            continue
        p.under_votes += w * max(0, judge.max_votes - marked)
        if not ballot.marks:
            p.blank += w
            continue
        p.valid += w
        p.votes_actually += w * marked
        if marked < judge.max_votes:
            p.alerts["under-vote"] += w
        if gap:
            p.alerts["rank-gap"] += w
        valid[canonical] += w
    return Classification(p, valid)


class Judge:
    """The verdict on a ballot's marks for one contest. Called, it remembers each distinct set of
    marks' verdict (groups may repeat marks with other weights); `verdict` computes it afresh."""

    def __init__(self, contest: Contest):
        self.rules = MARK_KINDS[METHODS[contest.method].mark_kind]
        self.known = frozenset(contest.candidate_ids)
        self.max_votes = self.rules.max_votes(contest)
        self.min_votes = contest.min_votes
        self.blank_allowed = contest.blank_policy != "not-allowed"
        self.settings = self.rules.settings(contest)  # what the kind's checks need of the options
        # The values of a straightforward ballot: 1, 2, 3... or 1, 1, 1... (see `verdict`).
        self.straight = self.rules.straight(min(self.max_votes, MAX_MARKS))
        self.ranked = self.rules.ranked
        self.verdicts: dict[Marks, Verdict] = {}

    def __call__(self, marks: Marks) -> Verdict:
        verdict = self.verdicts.get(marks)
        if verdict is None:
            verdict = self.verdicts[marks] = self.verdict(marks)
        return verdict

    def verdict(self, marks: Marks) -> Verdict:
        """The common case is decided here, fast: distinct known candidates, at least `min_votes` and
        at most `max_votes` of them, each marked 1 (check marks) or ranked 1, 2, 3... in that order
        (ranks). The values must equal `straight`'s and be ints: their sum is an int only when no value
        is a float, Decimal or Fraction that merely equals an int (such a ballot is left to the full
        checks, as is every other one; bools are ints to the full checks too)."""
        k = len(marks)
        if 0 < k <= len(self.straight) and k >= self.min_votes:
            chosen = dict(marks)  # candidate -> value, in the order marked; shorter when a candidate repeats
            values = chosen.values()
            if (
                len(chosen) == k
                and tuple(values) == self.straight[:k]
                and sum(values).__class__ is int
                and self.known.issuperset(chosen)
            ):
                # canonical: ranks 1, 2, 3... are in rank order already; check marks sort by candidate
                return (None, k, tuple(marks) if self.ranked else tuple(sorted(marks)), False)
        return self.full_verdict(marks)

    def full_verdict(self, marks: Marks) -> Verdict:
        """The rules, in order: an unknown candidate, the kind's checks on the values, a blank
        ballot the contest does not allow, fewer marks than `min_votes`."""
        candidates = [candidate for candidate, _ in marks]
        values = [value for _, value in marks]
        rules = self.rules
        reason = rules.reason(self, candidates, values) if self.known.issuperset(candidates) else "unknown-candidate"
        marked = rules.marked(marks, candidates)
        if reason is None and not marks and not self.blank_allowed:
            reason = "blank-not-allowed"
        if reason is None and marked < self.min_votes:
            reason = "too-few-marks"
        if reason is not None:
            return (reason, marked, (), False)
        canonical, gap = rules.canonical(marks, values)
        return (None, marked, canonical, gap)

