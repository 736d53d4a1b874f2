"""The engine's entry points: count a contest, or the pieces the distributed pipeline joins."""

from __future__ import annotations

from collections import Counter
from operator import attrgetter
from typing import Iterable, Iterator, Mapping

from .ballots import Ballot, Marks
from .contest import Contest, check_contest
from .errors import DefinitionError
from .methods import METHODS
from .outcome import Outcome
from .result import ContestResult
from .validation import Participation, classify

_BALLOT_KEY = attrgetter("marks", "weight", "explicit_invalid", "defect")


def decide(contest: Contest, valid: Mapping[Marks, int]) -> Outcome:
    """Run the contest's method over the weighted multiset of valid ballots."""
    return METHODS[contest.method].count(contest, valid)


def group_ballots(ballots: Iterable[Ballot]) -> Iterator[tuple[Ballot, int]]:
    """Merge identical ballots into (ballot carrying the summed weight, number of records) pairs.

    Identical means same marks, weight, spoil flag and defect, so each group's weight is
    `records x weight`: this is what keeps a million-ballot count to one pass of hashing."""
    for (marks, weight, explicit_invalid, defect), records in Counter(map(_BALLOT_KEY, ballots)).items():
        yield Ballot(marks, weight * records, explicit_invalid, defect), records


def count(contest: Contest, ballots: Iterable[Ballot], census: int | None = None) -> ContestResult:
    """Validate and count every ballot of one contest, honouring the contest's `tally_operation`."""
    check_contest(contest)
    method = METHODS[contest.method]
    operation = contest.annotations.get("tally_operation")
    if operation == "aggregate-results" and (method.preferential or not method.additive):
        raise DefinitionError(
            "contest.annotations.tally_operation",
            f"aggregate-results cannot count {contest.method}: a preferential method must process all ballots",
        )
    classification = classify(contest, group_ballots(ballots))
    outcome = None if operation == "skip-candidate-results" else decide(contest, classification.valid)
    return ContestResult(contest, classification.participation, outcome, census)


def result_from_parts(
    contest: Contest, participation: Participation, outcome: Outcome | None, census: int | None = None
) -> ContestResult:
    return ContestResult(contest, participation, outcome, census)
