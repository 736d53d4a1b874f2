"""Every registered method through the properties it has, as pref_voting checks its methods.

Each property is checked for every method of `counting.METHODS` the table says it holds for, on
random profiles of well-formed ballots (the marks a voter with a random order of preference casts,
`mark_kinds.marks_for`, cut at a random depth, with random weights). A method registered later
must be placed in `HOLDS` below: the last test fails until it is.

| property | what it says | holds for |
| --- | --- | --- |
| determinism | the same profile counted twice gives the same result | every method |
| anonymity | the result depends only on the multiset of ballots: shuffled, with each weighted ballot split into unit ballots | every method |
| winners are candidates | winners are distinct candidates, never an undeclared write-in; `order` lists every candidate once, winners first | every method |
| seats | exactly min(seats, candidates) winners, and none when no valid vote was cast | every method (rcv as generated, in its default mode; with `bottoms-up-using-percentage-threshold` it elects whoever passes the threshold) |
| neutrality | renaming the candidates (their tie order renamed with them) renames the winners | every method |
| unanimity | when every ballot puts X first and alone at the top, X wins one seat | every method but the desborda family: team guarantees and gender parity may pass over X |
| majority | one seat: a candidate first on more than half of the valid weight wins | plurality-at-large (one mark), instant-runoff, rcv, meek-stv, scottish-stv, and the Condorcet methods (schulze, ranked-pairs, copeland, minimax: that candidate beats every other head to head); not Borda, desborda, pairwise-beta, cumulative or approval, which fail it by design |
"""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from counting import METHODS, count, parse_ballots, parse_contest
from counting.mark_kinds import MARK_KINDS

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
IDS = "ABCDE"
RENAMED = dict(zip(IDS, ["zulu", "yankee", "x-ray", "whiskey", "victor"], strict=True))  # the reverse of the ids' order

# Every method by name, not `METHODS` itself: a method registered later fails the last test until
# someone decides which properties it has.
EVERY = frozenset(
    {
        "plurality-at-large", "approval", "cumulative", "instant-runoff", "rcv", "meek-stv", "borda", "borda-nauru",
        "borda-mas-madrid", "desborda", "desborda2", "desborda3", "pairwise-beta", "schulze", "ranked-pairs",
        "copeland", "minimax", "scottish-stv",
    }
)
DESBORDA = frozenset({"desborda", "desborda2", "desborda3"})
CONDORCET = frozenset({"schulze", "ranked-pairs", "copeland", "minimax"})  # a majority's first is the Condorcet winner
HOLDS = {
    "determinism": EVERY,
    "anonymity": EVERY,
    "winners are candidates": EVERY,
    "seats": EVERY,
    "neutrality": EVERY,
    "unanimity": EVERY - DESBORDA,
    "majority": frozenset(
        {"plurality-at-large", "instant-runoff", "rcv", "meek-stv", "scottish-stv"} | CONDORCET
    ),
}
SINGLE_SEAT = frozenset({"instant-runoff", "rcv"})  # as generated: rcv's default mode counts one seat


def methods_with(name: str) -> list[str]:
    return sorted(HOLDS[name])


@st.composite
def profiles(draw, method: str, seats: int | None = None) -> tuple[dict, list[dict]]:
    """(contest definition, well-formed ballot records): 2 to 5 candidates, an explicit tie order."""
    n = draw(st.integers(2, 5))
    ids = list(IDS[:n])
    candidates = [
        {"id": c, "category": draw(st.sampled_from(["team-1", "team-2"])), "gender": draw(st.sampled_from("MF"))}
        for c in ids
    ]
    if seats is None:
        seats = 1 if method in SINGLE_SEAT else draw(st.integers(1, n))
    contest = {
        "id": "p", "method": method, "seats": seats, "candidates": candidates,
        "options": {"tie_break_order": draw(st.permutations(ids))},
    }
    kind = MARK_KINDS[METHODS[method].mark_kind]
    depth_limit = 1 if method == "plurality-at-large" else n
    ballots = []
    for _ in range(draw(st.integers(0, 12))):
        order = draw(st.permutations(ids))[: draw(st.integers(1, depth_limit))]
        ballots.append({"marks": kind.marks_for(order), "weight": draw(st.integers(1, 3))})
    return contest, ballots


def result(contest: dict, ballots: list[dict]) -> dict:
    return count(parse_contest(contest), parse_ballots(ballots)).to_json()


def renamed(contest: dict, ballots: list[dict]) -> tuple[dict, list[dict]]:
    """The same election with every candidate renamed (positions, categories and genders kept)."""

    def name(value):
        return RENAMED.get(value, value) if isinstance(value, str) else value

    contest = json.loads(json.dumps(contest))
    for c in contest["candidates"]:
        c["id"] = name(c["id"])
    contest["options"]["tie_break_order"] = [name(c) for c in contest["options"]["tie_break_order"]]
    ballots = [{**b, "marks": [[name(c), name(v)] for c, v in b["marks"]]} for b in ballots]
    return contest, ballots


@pytest.mark.parametrize("method", methods_with("determinism"))
@given(data=st.data())
@SETTINGS
def test_determinism(method, data):
    contest, ballots = data.draw(profiles(method))
    assert result(contest, ballots) == result(json.loads(json.dumps(contest)), json.loads(json.dumps(ballots)))


@pytest.mark.parametrize("method", methods_with("anonymity"))
@given(data=st.data())
@SETTINGS
def test_anonymity(method, data):
    contest, ballots = data.draw(profiles(method))
    units = [{"marks": b["marks"]} for b in ballots for _ in range(b["weight"])]
    random.Random(data.draw(st.integers(0, 2**16))).shuffle(units)
    whole, shuffled = result(contest, ballots), result(contest, units)
    for r in (whole, shuffled):
        r["extended_metrics"].pop("total_ballots")  # records, which splitting changes by design
    assert shuffled == whole


@pytest.mark.parametrize("method", methods_with("winners are candidates"))
@given(data=st.data())
@SETTINGS
def test_winners_are_distinct_candidates(method, data):
    contest, ballots = data.draw(profiles(method))
    if data.draw(st.booleans()):
        contest["candidates"][-1]["undeclared_write_in"] = True
    try:
        parse_contest(contest)
    except Exception:
        assume(False)  # e.g. instant-runoff refuses a contest of write-ins only
    outcome = result(contest, ballots)
    ids = [c["id"] for c in contest["candidates"]]
    write_ins = {c["id"] for c in contest["candidates"] if c.get("undeclared_write_in")}
    winners = outcome["winners"]
    assert len(winners) == len(set(winners)) <= contest["seats"]
    assert set(winners) <= set(ids) - write_ins
    ranked = [c["id"] for c in sorted(outcome["candidates"], key=lambda c: c["rank"])]
    assert sorted(ranked) == sorted(ids)
    assert set(ranked[: len(winners)]) == set(winners)


@pytest.mark.parametrize("method", methods_with("seats"))
@given(data=st.data())
@SETTINGS
def test_every_seat_is_filled_while_candidates_remain(method, data):
    contest, ballots = data.draw(profiles(method))
    outcome = result(contest, ballots)
    seats = min(contest["seats"], len(contest["candidates"])) if outcome["totals"]["valid"] else 0
    assert len(outcome["winners"]) == seats


@pytest.mark.parametrize("method", methods_with("neutrality"))
@given(data=st.data())
@SETTINGS
def test_neutrality(method, data):
    contest, ballots = data.draw(profiles(method))
    before = result(contest, ballots)
    after = result(*renamed(contest, ballots))
    assert after["winners"] == [RENAMED[c] for c in before["winners"]]
    totals = {RENAMED[c["id"]]: c["total_count"] for c in before["candidates"]}
    if method != "meek-stv":  # 80-digit sums in another order may differ in their last digits
        assert {c["id"]: c["total_count"] for c in after["candidates"]} == totals


@pytest.mark.parametrize("method", methods_with("unanimity"))
@given(data=st.data())
@SETTINGS
def test_a_unanimous_first_choice_wins(method, data):
    contest, ballots = data.draw(profiles(method, seats=1))
    assume(ballots)
    ids = [c["id"] for c in contest["candidates"]]
    favourite = data.draw(st.sampled_from(ids))
    kind = MARK_KINDS[METHODS[method].mark_kind]
    for b in ballots:
        others = data.draw(st.permutations([c for c in ids if c != favourite]))
        # Alone at the top: ranked first, or the only candidate marked where marks are not ordered.
        b["marks"] = kind.marks_for([favourite, *others] if kind.kind in ("rank", "pair") else [favourite])
    assert result(contest, ballots)["winners"] == [favourite]


@pytest.mark.parametrize("method", methods_with("majority"))
@given(data=st.data())
@SETTINGS
def test_a_majority_first_choice_wins_one_seat(method, data):
    contest, ballots = data.draw(profiles(method, seats=1))
    assume(ballots)
    first = {}
    for b in ballots:
        top = min(b["marks"], key=lambda m: m[1])[0] if METHODS[method].mark_kind == "rank" else b["marks"][0][0]
        first[top] = first.get(top, 0) + b["weight"]
    leader, votes = max(first.items(), key=lambda item: item[1])
    assume(2 * votes > sum(b["weight"] for b in ballots))
    assert result(contest, ballots)["winners"] == [leader]


def test_every_registered_method_is_in_the_table():
    assert set(METHODS) == EVERY, "place a new method in EVERY and in HOLDS, property by property"
