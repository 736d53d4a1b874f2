"""Properties every registered counting method must have, checked on random contests and ballots.

The tests iterate `counting.METHODS`, so each method gains this coverage as soon as it is registered.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from counting import (
    METHODS, Ballot, ContestResult, DefinitionError, count, decide, decide_totals, parse_ballots, parse_contest,
)
from counting.interchange import count_document
from counting.mark_kinds import MARK_KINDS
from counting.ranking import sum_totals
from counting.validation import Judge, Participation, classify

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = "ABCDE"
IRV_OPTIONS = {
    "overvote_rule": st.sampled_from(
        ["invalidate-ballot", "exhaust-immediately", "always-skip-to-next-rank", "exhaust-if-multiple-continuing"]
    ),
    "duplicate_candidate_rule": st.sampled_from(["invalidate-ballot", "skip", "exhaust"]),
    "max_skipped_ranks": st.none() | st.integers(0, 2),
    "batch_elimination": st.booleans(),
    "tie_break_look_back": st.booleans(),
}


@st.composite
def contests(draw, method: str) -> dict:
    """A contest definition the engine accepts, as a JSON object."""
    n = draw(st.integers(1, 5))
    ids = list(IDS[:n])
    candidates = [
        {
            "id": c,
            "name": f"Candidate {c}",
            "tie_break_key": draw(st.integers(0, 9)),
            "category": draw(st.sampled_from(["team-1", "team-2"])),
            "gender": draw(st.sampled_from(["M", "F"])),
        }
        for c in ids
    ]
    options: dict = {}
    if draw(st.booleans()):
        options["tie_break_order"] = draw(st.permutations(ids))
    if method == "cumulative":
        options["checks"] = draw(st.integers(1, 3))
    if method == "instant-runoff":
        options.update(draw(st.fixed_dictionaries({}, optional=IRV_OPTIONS)))
        if n >= 3 and draw(st.booleans()):
            candidates[-1]["undeclared_write_in"] = True
    groups = []
    if method == "meek-stv" and n >= 2 and draw(st.booleans()):
        members = draw(st.lists(st.sampled_from(ids), min_size=2, unique=True))
        groups.append({"name": "g", "members": members, "max_elected": draw(st.integers(1, len(members) - 1))})
    min_votes = draw(st.integers(0, 1))
    contest = {
        "id": "prop",
        "method": method,
        "candidates": candidates,
        "seats": draw(st.integers(1, n)),
        "min_votes": min_votes,
        "max_votes": draw(st.none() | st.integers(max(1, min_votes), n + 1)),
        "blank_policy": draw(st.sampled_from(["allowed", "allowed", "not-allowed"])),
        "exclusion_groups": groups,
        "options": options,
    }
    try:
        parse_contest(contest)
    except DefinitionError:
        reject()
    return contest


@st.composite
def well_formed_marks(draw, kind: str, ids: list[str]) -> list:
    order = draw(st.permutations(ids))[: draw(st.integers(0, len(ids)))]
    return MARK_KINDS[kind].marks_for(order)


def any_marks(kind: str, ids: list[str]):
    """Marks as a careless or hostile encoder might write them: unknown ids, bad values, repeats, overvotes."""
    candidate = st.sampled_from(ids * 4 + ["Z"])
    value = {
        "check": st.sampled_from([1] * 6 + [0, 2]),
        "points": st.integers(0, 4),
        "rank": st.integers(0, len(ids) + 1),
        "pair": st.sampled_from(ids * 4 + ["Z", 7]),
    }[kind]
    return st.lists(st.tuples(candidate, value).map(list), max_size=len(ids) + 1)


def records(kind: str, ids: list[str]):
    marks = st.one_of(well_formed_marks(kind, ids), any_marks(kind, ids))
    optional = {"weight": st.integers(1, 4), "explicit_invalid": st.booleans()}
    return st.fixed_dictionaries({"marks": marks}, optional=optional)


def profiles(method: str):
    """(contest JSON, ballot records) pairs."""
    kind = METHODS[method].mark_kind
    return contests(method).flatmap(
        lambda c: st.tuples(st.just(c), st.lists(records(kind, [x["id"] for x in c["candidates"]]), max_size=25))
    )


def parsed_profiles(method: str):
    """(Contest, [Ballot]) pairs."""
    return profiles(method).map(lambda p: (parse_contest(p[0]), parse_ballots(p[1])))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
HOSTILE_MARK = st.one_of(JSON_VALUES, st.lists(st.sampled_from(list(IDS)) | JSON_VALUES, min_size=2, max_size=2))
HOSTILE_RECORDS = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "marks": st.lists(HOSTILE_MARK, max_size=4) | JSON_VALUES,
            "weight": st.integers(-2, 3) | JSON_VALUES,
            "explicit_invalid": st.booleans() | JSON_VALUES,
        },
    ),
)
METHOD_NAMES = sorted(METHODS)


def assert_well_formed(result: dict, contest: dict, records: list) -> None:
    json.dumps(result, sort_keys=True)
    t = result["totals"]
    assert t["total_votes"] == t["valid"] + t["blank"] + t["invalid_explicit"] + t["invalid_implicit"]
    assert sum(t["invalid_reasons"].values()) == t["invalid_implicit"]
    assert result["extended_metrics"]["total_ballots"] == len(records)
    winners = result["winners"]
    assert len(winners) == len(set(winners)) <= contest["seats"]
    assert sorted(c["rank"] for c in result["candidates"]) == list(range(1, len(contest["candidates"]) + 1))
    assert {c["id"] for c in result["candidates"] if c["is_winner"]} == set(winners)
    shares = [c["percentage_votes"] for c in result["candidates"]] + list(result["percentages"].values())
    if result["census"] is None:
        assert result["percentages"]["turnout"] is None  # unknown census: no turnout
        shares.remove(None)
    for share in shares:
        assert 0 <= float(share) <= 100


def without_record_count(result: dict) -> dict:
    result["extended_metrics"].pop("total_ballots")
    return result


@pytest.mark.parametrize("method", METHOD_NAMES)
@given(data=st.data())
@SETTINGS
def test_every_ballot_is_accounted_for(method, data):
    contest, records = data.draw(profiles(method))
    result = count_document({"contest": contest, "ballots": records})
    assert_well_formed(result, contest, records)
    assert result["totals"]["total_votes"] == sum(r.get("weight", 1) for r in records)


@pytest.mark.parametrize("method", METHOD_NAMES)
@given(data=st.data())
@SETTINGS
def test_ballot_and_mark_order_do_not_matter(method, data):
    contest, records = data.draw(profiles(method))
    rng = random.Random(data.draw(st.integers(0, 2**16)))
    whole = count_document({"contest": contest, "ballots": records})
    shuffled = rng.sample(records, len(records))
    assert count_document({"contest": contest, "ballots": shuffled}) == whole
    # Marks in another order: the same result, down to the reason each invalid ballot gets (validation
    # looks at every mark before deciding, and its checks run in a fixed order).
    remarked = [{**r, "marks": rng.sample(r["marks"], len(r["marks"]))} for r in shuffled]
    again = count_document({"contest": contest, "ballots": remarked})
    assert again["totals"]["invalid_reasons"] == whole["totals"]["invalid_reasons"]
    assert again == whole


@pytest.mark.parametrize("method", METHOD_NAMES)
@given(data=st.data())
@SETTINGS
def test_the_fast_verdict_agrees_with_the_full_checks(method, data):
    contest, records = data.draw(profiles(method))
    judge = Judge(parse_contest(contest))
    for ballot in parse_ballots(records):
        assert judge.verdict(ballot.marks) == judge.full_verdict(ballot.marks)


@pytest.mark.parametrize("method", METHOD_NAMES)
@given(data=st.data())
@SETTINGS
def test_merging_identical_ballots_into_one_weight_changes_nothing(method, data):
    contest, ballots = data.draw(parsed_profiles(method))
    merged: Counter = Counter()
    for b in ballots:
        merged[b.marks, b.explicit_invalid, b.defect] += b.weight
    merged_ballots = [Ballot(m, w, e, d) for (m, e, d), w in merged.items()]
    random.Random(len(ballots)).shuffle(merged_ballots)
    assert without_record_count(count(contest, merged_ballots).to_json()) == without_record_count(
        count(contest, ballots).to_json()
    )


@pytest.mark.parametrize("method", METHOD_NAMES)
@given(data=st.data())
@SETTINGS
def test_splitting_into_areas_gives_the_pooled_result(method, data):
    contest, ballots = data.draw(parsed_profiles(method))
    areas = data.draw(st.lists(st.integers(0, 2), min_size=len(ballots), max_size=len(ballots)))
    parts = [classify(contest, [(b, 1) for b, a in zip(ballots, areas, strict=True) if a == area]) for area in (2, 0, 1)]
    participation = sum((p.participation for p in parts), Participation())
    whole = count(contest, ballots).to_json()
    shipped = sum((p.valid for p in parts), Counter())  # area tasks ship compressed multisets
    assert ContestResult(contest, participation, decide(contest, shipped)).to_json() == whole
    rule = METHODS[method]
    if rule.additive:
        totals = sum_totals([rule.totals(contest, p.valid) for p in parts])
        # as the pipeline decides an additive contest from its areas' totals (services/pipeline/area_tree.py)
        decided = decide_totals(contest, totals, participation.valid)
        assert ContestResult(contest, participation, decided).to_json() == whole


@pytest.mark.parametrize("method", METHOD_NAMES)
@given(data=st.data())
@SETTINGS
def test_hostile_records_never_crash_and_are_counted_invalid_with_a_reason(method, data):
    contest = data.draw(contests(method))
    records = data.draw(st.lists(HOSTILE_RECORDS, max_size=12))
    result = count_document({"contest": contest, "ballots": records})
    assert_well_formed(result, contest, records)
    not_objects = sum(1 for r in records if not isinstance(r, dict))
    assert result["totals"]["invalid_reasons"].get("malformed-record", 0) >= not_objects


@given(doc=JSON_VALUES | st.fixed_dictionaries({"contest": JSON_VALUES, "ballots": JSON_VALUES}))
@SETTINGS
def test_a_hostile_document_is_refused_with_a_field_never_a_crash(doc):
    try:
        count_document(doc)
    except DefinitionError as err:
        assert err.field
