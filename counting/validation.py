"""Ballot classification: every ballot is exactly one of valid, blank, explicit or implicit invalid.

`total = valid + blank + explicit invalid + implicit invalid`, always: nothing is dropped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from .ballots import Ballot, Marks
from .contest import Contest
from .methods import METHODS

# Preferential options that turn an overvote or a repeated candidate into a counting matter.
INVALIDATE = "invalidate-ballot"


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


def classify(contest: Contest, groups: Iterable[tuple[Ballot, int]]) -> Classification:
    """Classify (ballot, records) pairs; a ballot's weight is the summed weight of its records."""
    kind = METHODS[contest.method].mark_kind
    check = _CHECKS[kind]
    known = frozenset(contest.candidate_ids)
    max_votes = contest.effective_max_votes
    if kind == "pair" and contest.max_votes is None:
        n = len(contest.candidates)
        max_votes = n * (n - 1) // 2
    p = Participation()
    valid: Counter = Counter()
    for ballot, records in groups:
        w = ballot.weight
        p.total_ballots += records
        p.total_votes += w
        p.expected_votes += w * max_votes
        if ballot.explicit_invalid:
            p.invalid_explicit += w
            continue
        reason = ballot.defect or _unknown(ballot.marks, known) or check(contest, ballot.marks, max_votes)
        marked = _marked(kind, ballot.marks)
        if reason is None and not ballot.marks and contest.blank_policy == "not-allowed":
            reason = "blank-not-allowed"
        if reason is None and marked < contest.min_votes:
            reason = "too-few-marks"
        if reason is not None:
            p.invalid_implicit += w
            p.invalid_reasons[reason] += w
            if reason == "too-many-marks":
                p.over_votes += w
            continue
        p.under_votes += w * max(0, max_votes - marked)
        if not ballot.marks:
            p.blank += w
            continue
        p.valid += w
        p.votes_actually += w * marked
        if marked < max_votes:
            p.alerts["under-vote"] += w
        if kind == "rank" and _has_gap(ballot.marks):
            p.alerts["rank-gap"] += w
        valid[_canonical(kind, ballot.marks)] += w
    return Classification(p, valid)


def classify_ballots(contest: Contest, ballots: Iterable[Ballot]) -> Classification:
    return classify(contest, ((b, 1) for b in ballots))


def _unknown(marks: Marks, known: frozenset) -> str | None:
    for candidate, _ in marks:
        if candidate not in known:
            return "unknown-candidate"
    return None


def _marked(kind: str, marks: Marks) -> int:
    if kind == "pair":
        return len(marks)
    return len({c for c, _ in marks})


def _check_marks(contest: Contest, marks: Marks, max_votes: int) -> str | None:
    seen = set()
    for candidate, value in marks:
        if not isinstance(value, int) or value != 1:
            return "invalid-value"
        if candidate in seen:
            return "duplicate-candidate"
        seen.add(candidate)
    if len(seen) > max_votes:
        return "too-many-marks"
    return None


def _check_points(contest: Contest, marks: Marks, max_votes: int) -> str | None:
    checks = contest.options.get("checks", 1)
    seen = set()
    for candidate, value in marks:
        if not isinstance(value, int) or not 1 <= value <= checks:
            return "invalid-value"
        if candidate in seen:
            return "duplicate-candidate"
        seen.add(candidate)
    if len(seen) > max_votes:
        return "too-many-marks"
    return None


def _check_ranks(contest: Contest, marks: Marks, max_votes: int) -> str | None:
    by_rank: dict[int, set] = {}
    by_candidate: dict[str, int] = {}
    repeated = False
    for candidate, rank in marks:
        if not isinstance(rank, int) or not 1 <= rank <= max_votes:
            return "rank-out-of-range"
        if candidate in by_candidate:
            repeated = True
        by_candidate[candidate] = by_candidate.get(candidate, 0) + 1
        by_rank.setdefault(rank, set()).add(candidate)
    overvote = any(len(cs) > 1 for cs in by_rank.values())
    if overvote and contest.options.get("overvote_rule", INVALIDATE) == INVALIDATE:
        return "overvote"
    if repeated and contest.options.get("duplicate_candidate_rule", INVALIDATE) == INVALIDATE:
        return "duplicate-candidate"
    return None


def _check_pairs(contest: Contest, marks: Marks, max_votes: int) -> str | None:
    known = set(contest.candidate_ids)
    seen = set()
    for winner, loser in marks:
        if not isinstance(loser, str) or loser not in known:
            return "unknown-candidate" if isinstance(loser, str) else "invalid-value"
        if winner == loser:
            return "invalid-value"
        if (winner, loser) in seen:
            return "duplicate-pair"
        if (loser, winner) in seen:
            return "contradictory-pair"
        seen.add((winner, loser))
    if len(seen) > max_votes:
        return "too-many-marks"
    return None


_CHECKS = {"check": _check_marks, "points": _check_points, "rank": _check_ranks, "pair": _check_pairs}


def _has_gap(marks: Marks) -> bool:
    ranks = sorted({r for _, r in marks})
    return ranks != list(range(1, len(ranks) + 1))


def _canonical(kind: str, marks: Marks) -> Marks:
    if kind == "rank":
        return tuple(sorted(marks, key=lambda m: (m[1], m[0])))
    return tuple(sorted(marks))
