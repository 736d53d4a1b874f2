"""The engine's entry points: count a contest, or the pieces the distributed pipeline joins."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

from .area_rounds import follow
from .ballots import Ballot, Marks
from .contest import Contest
from .definition import check_contest, contest_operation
from .methods import METHODS, Totals
from .outcome import Outcome, nobody_elected
from .result import ContestResult
from .validation import classify
from .vocabulary import TallyOperation

# Grouped records: (plain marks -> records, [(ballot carrying the summed weight, records)]).
Grouped = tuple[Counter, list[tuple[Ballot, int]]]

# Marks the grouping key of a record that is not plain; no ballot's marks can begin with it.
_NOT_PLAIN = object()


def decide(contest: Contest, valid: Mapping[Marks, int]) -> Outcome:
    """Run the contest's method over the weighted multiset of valid ballots; with none of any
    weight, nobody is elected (`outcome.nobody_elected`), whatever the method."""
    if not any(valid.values()):  # weights are never negative: no nonzero one means a total of zero
        return nobody_elected(contest.candidate_ids)
    return METHODS[contest.method].count(contest, valid)


def decide_totals(contest: Contest, totals: Totals, valid_votes: int) -> Outcome:
    """`decide` of an additive method from its totals summed over areas (aggregate-results), given
    the areas' valid votes (weighted): the same outcome as `decide` over their pooled ballots."""
    if not valid_votes:
        return nobody_elected(contest.candidate_ids)
    return METHODS[contest.method].decide(contest, totals)


def group_ballots(ballots: Iterable[Ballot]) -> Grouped:
    """Merge identical ballots (see `Grouped`).

    Most records are plain (weight 1, not spoiled, readable) and differ only by their marks, so they
    are counted by their marks alone: one pass that reads each record's fields with the interpreter's
    fast attribute access and hashes one tuple into a C-level Counter (no dataclass `__hash__`, no
    per-record key object). The other records are grouped by all their fields, each group's weight
    being `records x weight`. Grouping is by value, so it is exact whether or not records share objects."""
    return _split_plain(
        Counter(
            [
                b.marks
                if b.weight == 1 and not b.explicit_invalid and b.defect is None
                else (_NOT_PLAIN, b.marks, b.weight, b.explicit_invalid, b.defect)
                for b in ballots
            ]
        )
    )


def group_counted(pairs: Iterable[tuple[Ballot, int]]) -> Grouped:
    """`group_ballots` of records that come already counted: (ballot, number of identical records)."""
    keys: Counter = Counter()
    for b, n in pairs:
        if b.weight == 1 and not b.explicit_invalid and b.defect is None:
            keys[b.marks] += n
        else:
            keys[(_NOT_PLAIN, b.marks, b.weight, b.explicit_invalid, b.defect)] += n
    return _split_plain(keys)


def _split_plain(keys: Counter) -> Grouped:
    """Take the records that are not plain out of `keys`, each group as one ballot of summed weight."""
    others = []
    for key in [k for k in keys if len(k) == 5 and k[0] is _NOT_PLAIN]:
        _, marks, weight, explicit_invalid, defect = key
        records = keys.pop(key)
        others.append((Ballot(marks, weight * records, explicit_invalid, defect), records))
    return keys, others


def follow_in_area(contest: Contest, ballots: Iterable[Ballot], result: dict) -> dict:
    """An area's ballots classified, and its rounds following the contest's `result`
    (`area_rounds.follow`): {"totals", "rounds"} as JSON."""
    plain, others = group_ballots(ballots)
    classification = classify(contest, others, plain)
    rounds = follow(contest, classification.valid, result)
    return {"totals": classification.participation.to_json(), "rounds": [r.to_json() for r in rounds]}


def count(contest: Contest, ballots: Iterable[Ballot], census: int | None = None) -> ContestResult:
    """Validate and count every ballot of one contest, honouring the contest's `tally_operation`."""
    return count_grouped(contest, group_ballots(ballots), census)


def count_grouped(
    contest: Contest, grouped: Grouped, census: int | None = None
) -> ContestResult:
    """`count` of ballots already grouped (`group_ballots`, `group_counted`)."""
    check_contest(contest)
    operation = contest_operation(contest)
    plain, others = grouped
    classification = classify(contest, others, plain)
    outcome = None if operation.value == TallyOperation.SKIP_CANDIDATE_RESULTS else decide(contest, classification.valid)
    return ContestResult(contest, classification.participation, outcome, census)

