"""The engine's entry points: count a contest, or the pieces the distributed pipeline joins."""

from __future__ import annotations

from typing import Iterable, Mapping

from .ballots import Ballot, Marks
from .contest import Contest, check_contest
from .methods import METHODS
from .outcome import Outcome
from .result import ContestResult
from .validation import Participation, classify


def decide(contest: Contest, valid: Mapping[Marks, int]) -> Outcome:
    """Run the contest's method over the weighted multiset of valid ballots."""
    return METHODS[contest.method].count(contest, valid)


def count(contest: Contest, ballots: Iterable[Ballot], census: int | None = None) -> ContestResult:
    """Validate and count every ballot of one contest."""
    check_contest(contest)
    classification = classify(contest, ((b, 1) for b in ballots))
    return ContestResult(contest, classification.participation, decide(contest, classification.valid), census)


def result_from_parts(
    contest: Contest, participation: Participation, outcome: Outcome | None, census: int | None = None
) -> ContestResult:
    return ContestResult(contest, participation, outcome, census)
