"""The fast classification equals its readable reference form, on random ballots of every kind of mark.

`classify` is what every count runs: a fast path for the common ballot, each verdict remembered by
the judge, and the valid multiset built on the grouping's own hashes. `classify_reference` reads
the rules one ballot at a time with none of that. Any difference is a bug in a shortcut.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counting import METHODS, Ballot, parse_ballots, parse_contest
from counting.count import group_ballots
from counting.validation import Judge, classify, classify_reference
from counting.vocabulary import MarkKind

from tests.engine.test_properties import SETTINGS, contests, records

# One method per kind of mark at least, and every method of the registry.
KINDS = {METHODS[name].mark_kind for name in METHODS}
assert KINDS == set(MarkKind), "every kind of mark is counted by some method"

# Values no well-formed record holds but a Ballot built in code may: True (equal to 1 without being
# the int 1), ranks beyond CPython's small-int cache, strings where numbers belong. Not 1.0: marks
# that differ only by 1.0 and 1 are one key to any grouping, and no reader ever makes a float value.
ODD_VALUES = st.sampled_from([True, False, 0, -1, 257, 10**6, "A", "1", None])


def odd_ballots(ids: list[str]):
    mark = st.tuples(st.sampled_from(ids + ["Z"]), ODD_VALUES | st.integers(1, len(ids)))
    return st.builds(
        Ballot,
        marks=st.lists(mark, max_size=len(ids) + 1).map(tuple),
        weight=st.integers(1, 3),
        explicit_invalid=st.booleans(),
        defect=st.none() | st.just("malformed-marks"),
    )


def cases(method: str):
    """(Contest, [Ballot]): records parsed as `tally count` reads them, plus odd ballots built in code."""

    def ballots_for(definition: dict):
        ids = [c["id"] for c in definition["candidates"]]
        kind = METHODS[method].mark_kind
        parsed = st.lists(records(kind, ids), max_size=25).map(parse_ballots)
        return st.tuples(st.just(parse_contest(definition)), st.tuples(parsed, st.lists(odd_ballots(ids), max_size=5)))

    return contests(method).flatmap(ballots_for).map(lambda c: (c[0], c[1][0] + c[1][1]))


def as_json(classification) -> tuple[dict, dict]:
    return classification.participation.to_json(), dict(classification.valid)


@pytest.mark.parametrize("method", sorted(METHODS))
@given(data=st.data())
@SETTINGS
def test_classify_equals_its_reference_form(method, data):
    contest, ballots = data.draw(cases(method))
    reference = as_json(classify_reference(contest, [(b, 1) for b in ballots]))
    plain, others = group_ballots(ballots)
    assert as_json(classify(contest, others, plain)) == reference
    # One judge over several calls, as an area task's worker keeps it: remembered verdicts change nothing.
    judge = Judge(contest)
    assert as_json(classify(contest, [(b, 1) for b in ballots], judge=judge)) == reference
    assert as_json(classify(contest, others, plain, judge=judge)) == reference


@pytest.mark.parametrize("method", sorted(METHODS))
@given(data=st.data())
@SETTINGS
def test_the_fast_verdict_equals_the_full_checks_on_odd_values(method, data):
    contest, ballots = data.draw(cases(method))
    judge = Judge(contest)
    for ballot in ballots:
        assert judge.verdict(ballot.marks) == judge.full_verdict(ballot.marks)
