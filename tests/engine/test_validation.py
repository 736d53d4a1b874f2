"""Ballot classification: every reason code, the alerts, and the velvet worked examples of counting.md."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Iterable

import pytest

from counting import Ballot, Candidate, Contest, ContestResult, DefinitionError, Participation, count, parse_ballot
from counting.definition import Operation, area_operation, contest_operation
from counting.count import group_ballots
from counting.methods import METHODS, Method
from counting.ranking import sum_totals, top_by_totals
from counting.validation import Judge, classify

ENGINE = Path(__file__).resolve().parents[2] / "counting"


@pytest.fixture(autouse=True)
def stand_in_methods(monkeypatch):
    """Ranked and pairwise stand-ins, so validation is tested whichever real methods have landed."""
    for name, kind in (("test-ranked", "rank"), ("test-pairs", "pair")):
        stand_in = Method(name, kind, True, count=lambda contest, ballots: top_by_totals(contest, {}))
        monkeypatch.setitem(METHODS, name, stand_in)


def contest(method: str = "plurality-at-large", candidates: Iterable[str] = "ABC", **kw) -> Contest:
    return Contest(id="t", method=method, candidates=tuple(Candidate(c) for c in candidates), **kw)


def reasons_of(contest: Contest, *records) -> Counter:
    p = classify(contest, [(parse_ballot(r), 1) for r in records]).participation
    assert p.invalid_implicit == sum(p.invalid_reasons.values())
    return p.invalid_reasons


PLURALITY = contest(max_votes=2)
CUMULATIVE = contest("cumulative", max_votes=2, options={"checks": 3})
RANKED = contest("test-ranked", max_votes=3)
PAIRS = contest("test-pairs", max_votes=2)

CASES = [
    # records that cannot be read
    (PLURALITY, "not a record", "malformed-record"),
    (PLURALITY, {"marks": [], "explicit_invalid": "yes"}, "malformed-record"),
    (PLURALITY, {"marks": [["A", 1]], "weight": 0}, "malformed-weight"),
    (PLURALITY, {"marks": [["A", 1]], "weight": True}, "malformed-weight"),
    (PLURALITY, {"marks": [["A", 1]], "weight": 1.5}, "malformed-weight"),
    (PLURALITY, {"marks": [["A", 1]], "weight": 10**7}, "malformed-weight"),
    (PLURALITY, {"marks": "A"}, "malformed-marks"),
    (PLURALITY, {"marks": [["A", 1, 2]]}, "malformed-marks"),
    (PLURALITY, {"marks": [[None, 1]]}, "malformed-marks"),
    (PLURALITY, {"marks": [["A", True]]}, "malformed-marks"),
    (PLURALITY, {"marks": [["A", 1.0]]}, "malformed-marks"),
    (PLURALITY, {"marks": [["A", 1]] * 1001}, "oversized-record"),
    (PLURALITY, {"marks": [["A", 10**7]]}, "value-out-of-range"),
    # check marks
    (PLURALITY, {"marks": [["Z", 1]]}, "unknown-candidate"),
    (PLURALITY, {"marks": [["A", 2]]}, "invalid-value"),
    (PLURALITY, {"marks": [["A", 1], ["A", 1]]}, "duplicate-candidate"),
    (PLURALITY, {"marks": [["A", 1], ["B", 1], ["C", 1]]}, "too-many-marks"),
    (contest(blank_policy="not-allowed"), {"marks": []}, "blank-not-allowed"),
    (contest(min_votes=2), {"marks": [["A", 1]]}, "too-few-marks"),
    # cumulative points
    (CUMULATIVE, {"marks": [["A", 4]]}, "invalid-value"),
    (CUMULATIVE, {"marks": [["A", 0]]}, "invalid-value"),
    (CUMULATIVE, {"marks": [["A", 2], ["A", 1]]}, "duplicate-candidate"),
    (CUMULATIVE, {"marks": [["A", 1], ["B", 1], ["C", 1]]}, "too-many-marks"),
    # ranks
    (RANKED, {"marks": [["A", 0]]}, "rank-out-of-range"),
    (RANKED, {"marks": [["A", 4]]}, "rank-out-of-range"),
    (RANKED, {"marks": [["A", "1"]]}, "rank-out-of-range"),
    (RANKED, {"marks": [["A", 1], ["B", 1]]}, "overvote"),
    (RANKED, {"marks": [["A", 1], ["A", 2]]}, "duplicate-candidate"),
    (RANKED, {"marks": [["Z", 1]]}, "unknown-candidate"),
    # pairs
    (PAIRS, {"marks": [["A", "Z"]]}, "unknown-candidate"),
    (PAIRS, {"marks": [["A", "A"]]}, "invalid-value"),
    (PAIRS, {"marks": [["A", 2]]}, "invalid-value"),
    (PAIRS, {"marks": [["A", "B"], ["A", "B"]]}, "duplicate-pair"),
    (PAIRS, {"marks": [["A", "B"], ["B", "A"]]}, "contradictory-pair"),
    (PAIRS, {"marks": [["A", "B"], ["A", "C"], ["B", "C"]]}, "too-many-marks"),
]


@pytest.mark.parametrize("contest, record, reason", CASES)
def test_each_reason_code(contest, record, reason):
    assert reasons_of(contest, record) == {reason: 1}


def test_every_reason_code_in_the_engine_is_tested():
    pattern = re.compile(r'(?:return|reason =|defect=)\s*"([a-z]+(?:-[a-z]+)*)"')
    sources = [(ENGINE / module).read_text() for module in ("validation.py", "ballots.py")]
    codes = {code for source in sources for code in pattern.findall(source)}
    assert codes and codes <= {reason for _, _, reason in CASES}


# Ballots with several errors: whatever the order of their marks, one reason, by the fixed precedence
# unknown candidate, values, overvote, repeats, counts.
SEVERAL_ERRORS = [
    (PLURALITY, [["A", 1], ["A", 1], ["B", 2]], "invalid-value"),
    (PLURALITY, [["A", 1], ["A", 1], ["B", 1], ["C", 1]], "duplicate-candidate"),
    (PLURALITY, [["A", 2], ["Z", 1]], "unknown-candidate"),
    (CUMULATIVE, [["A", 0], ["A", 1]], "invalid-value"),
    (CUMULATIVE, [["A", 1], ["A", 2], ["B", 1], ["C", 1]], "duplicate-candidate"),
    (RANKED, [["A", 0], ["A", 1]], "rank-out-of-range"),
    (RANKED, [["A", 1], ["B", 1], ["A", 2]], "overvote"),
    (RANKED, [["A", 1], ["A", 1]], "duplicate-candidate"),  # one candidate twice at one rank: a repeat
    (PAIRS, [["A", "B"], ["B", "A"], ["A", "A"]], "invalid-value"),
    (PAIRS, [["A", "B"], ["A", 7], ["C", "Z"]], "unknown-candidate"),
    (PAIRS, [["A", "B"], ["A", "B"], ["B", "A"]], "duplicate-pair"),
    (PAIRS, [["A", "B"], ["B", "A"], ["A", "C"]], "contradictory-pair"),
]


@pytest.mark.parametrize("contest, marks, reason", SEVERAL_ERRORS)
def test_the_reason_does_not_depend_on_the_order_of_the_marks(contest, marks, reason):
    for order in itertools.permutations(marks):
        assert reasons_of(contest, {"marks": list(order)}) == {reason: 1}, order


def test_explicit_invalid_wins_over_any_error_and_counts_its_weight():
    p = classify(PLURALITY, [(parse_ballot({"marks": [["Z", 9]], "explicit_invalid": True, "weight": 4}), 1)])
    assert (p.participation.invalid_explicit, p.participation.invalid_implicit) == (4, 0)


def test_a_reason_counts_the_ballot_weight():
    assert reasons_of(PLURALITY, {"marks": [["Z", 1]], "weight": 5}) == {"unknown-candidate": 5}


@pytest.mark.parametrize(
    "rules, marks",
    [
        ({"overvote_rule": "exhaust-immediately"}, [["A", 1], ["B", 1]]),
        ({"overvote_rule": "always-skip-to-next-rank"}, [["A", 1], ["B", 1], ["C", 2]]),
        ({"duplicate_candidate_rule": "skip"}, [["A", 1], ["A", 2]]),
        ({"duplicate_candidate_rule": "exhaust"}, [["A", 1], ["A", 2]]),
    ],
)
def test_counting_rules_keep_overvotes_and_repeats_valid(rules, marks):
    p = classify(contest("test-ranked", max_votes=3, options=rules), [(parse_ballot({"marks": marks}), 1)])
    assert p.participation.valid == 1 and not p.participation.invalid_reasons


def test_rank_gaps_and_undervotes_are_alerts_never_errors():
    p = classify(RANKED, [(parse_ballot({"marks": [["A", 1], ["B", 3]]}), 1)]).participation
    assert p.valid == 1
    assert p.alerts == {"rank-gap": 1, "under-vote": 1}
    assert p.under_votes == 1 and p.votes_actually == 2


def test_several_candidates_at_one_rank_fill_one_rank_under_a_counting_rule():
    ranked = contest("test-ranked", max_votes=2, options={"overvote_rule": "exhaust-immediately"})
    p = classify(ranked, [(parse_ballot({"marks": [["A", 1], ["B", 1], ["C", 2]]}), 1)]).participation
    assert p.valid == 1


@pytest.mark.parametrize(
    "marks",
    [
        (("A", 1.0),),  # equal to 1, but not an integer
        (("A", True),),
        (("A", 1), ("B", 2)),
        (("B", 2), ("A", 1)),
        (("A", 1), ("B", 3)),
        (("A", 2),),
        (("A", 1), ("B", 2), ("C", 3), ("A", 4)),
        (("A", 1), ("Z", 2)),
        (),
    ],
)
@pytest.mark.parametrize("judged", [PLURALITY, RANKED, contest(min_votes=2), contest("test-ranked", min_votes=2)])
def test_the_fast_verdict_agrees_with_the_full_checks(judged, marks):
    judge = Judge(judged)
    assert judge.verdict(marks) == judge.full_verdict(marks)


def test_grouping_is_exact_whether_or_not_records_share_objects():
    marks = (("A", 1), ("B", 2))
    ballots = [
        Ballot(marks),
        Ballot(marks),
        Ballot(tuple(tuple(m) for m in marks)),  # equal, not the same objects
        Ballot(marks, weight=3),
        Ballot(marks, weight=3),
        Ballot(marks, explicit_invalid=True),
        Ballot((), defect="malformed-marks"),
        Ballot(((1, 2), (3, 4), (5, 6), (7, 8), (9, 10))),  # five marks, like the internal key of a grouped record
    ]
    plain, others = group_ballots(ballots)
    assert plain == {marks: 3, ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10)): 1}
    assert sorted(others, key=repr) == sorted(
        [
            (Ballot(marks, weight=6), 2),
            (Ballot(marks, explicit_invalid=True), 1),
            (Ballot((), defect="malformed-marks"), 1),
        ],
        key=repr,
    )


# tally_operation: the engine resolves it, for `count` and for the pipeline alike.


def test_a_missing_or_unknown_tally_operation_falls_back_to_the_method_default():
    assert contest_operation(contest()) == Operation("aggregate-results", "missing")
    assert contest_operation(RANKED) == Operation("process-ballots-all", "missing")
    typo = contest(annotations={"tally_operation": "agregate-results"})
    assert contest_operation(typo) == Operation("aggregate-results", "agregate-results")
    assert contest_operation(typo).fell_back
    chosen = contest(annotations={"tally_operation": "skip-candidate-results"})
    assert contest_operation(chosen) == Operation("skip-candidate-results") and not contest_operation(chosen).fell_back
    assert area_operation(RANKED, None) == Operation("skip-candidate-results", "missing")
    assert area_operation(PLURALITY, {"tally_operation": ""}) == Operation("process-ballots-all", "missing")
    assert area_operation(RANKED, {"tally_operation": "aggregate-results"}) == Operation("aggregate-results")


def test_aggregate_results_is_refused_for_preferential_methods_in_one_place():
    ranked = contest("test-ranked", annotations={"tally_operation": "aggregate-results"})
    for attempt in (lambda: contest_operation(ranked), lambda: count(ranked, [])):
        with pytest.raises(DefinitionError) as err:
            attempt()
        assert err.value.field == "contest.annotations.tally_operation"


# The velvet fixture of counting.md: area of 100 ballots, max 1, min 0.
VELVET = contest(candidates=[f"c{i}" for i in range(5)], max_votes=1)


def area(singles: dict[str, int], blank: int, double: int) -> list[Ballot]:
    ballots = [Ballot(marks=((c, 1),)) for c, n in singles.items() for _ in range(n)]
    return ballots + [Ballot()] * blank + [Ballot(marks=(("c0", 1), ("c1", 1)))] * double


AREA_1 = area({"c0": 3, "c1": 87, "c2": 1, "c3": 4, "c4": 1}, blank=3, double=1)
AREA_2 = area({"c0": 8, "c1": 30}, blank=3, double=1)


def test_velvet_area_of_100_ballots():
    result = count(VELVET, AREA_1, census=100).to_json()
    assert result["totals"] == {
        "total_votes": 100,
        "valid": 96,
        "blank": 3,
        "invalid_explicit": 0,
        "invalid_implicit": 1,
        "invalid_reasons": {"too-many-marks": 1},
    }
    shares = {c["id"]: c["percentage_votes"] for c in result["candidates"]}
    assert shares["c1"] == "90.625"
    metrics = result["extended_metrics"]
    assert (metrics["expected_votes"], metrics["votes_actually"]) == (100, 96)
    assert (metrics["under_votes"], metrics["over_votes"]) == (3, 1)
    assert result["winners"] == ["c1"]


def test_velvet_two_areas_aggregate_by_adding_participation():
    parts = [classify(VELVET, [(b, 1) for b in ballots]) for ballots in (AREA_1, AREA_2)]
    participation = sum((c.participation for c in parts), Participation())
    method = METHODS[VELVET.method]
    outcome = method.decide(VELVET, sum_totals([method.totals(VELVET, c.valid) for c in parts]))
    result = ContestResult(VELVET, participation, outcome, census=200).to_json()
    t = result["totals"]
    assert (t["total_votes"], t["valid"], t["blank"], t["invalid_implicit"] + t["invalid_explicit"]) == (142, 134, 6, 2)
    assert result["census"] == 200 and result["percentages"]["turnout"] == "71"
    assert {c["id"]: c["total_count"] for c in result["candidates"]}["c1"] == 117
    assert result == count(VELVET, AREA_1 + AREA_2, census=200).to_json()


@pytest.mark.parametrize("census, turnout", [(None, None), (0, "0"), (200, "50")])
def test_turnout_is_null_when_the_census_is_unknown(census, turnout):
    result = count(VELVET, AREA_1, census=census).to_json()
    assert (result["census"], result["percentages"]["turnout"]) == (census, turnout)


@pytest.mark.parametrize("min_votes, expected", [(0, (5, 5, 0)), (1, (5, 0, 5))])
def test_empty_ballots_are_blank_or_invalid_by_min_votes(min_votes, expected):
    ten = [Ballot(marks=(("A", 1),))] * 5 + [Ballot()] * 5
    p = count(contest(min_votes=min_votes), ten).participation
    assert (p.valid, p.blank, p.invalid_implicit) == expected
    if min_votes:
        assert p.invalid_reasons == {"too-few-marks": 5}


# The record-size limit (docs/interchange.md, "Record size"): one limit wherever a record is judged.


def test_a_candidate_id_of_100000_characters_is_an_oversized_record_in_tally_count():
    from counting.interchange import count_document

    doc = {"contest": {"id": "c", "method": "plurality-at-large", "candidates": [{"id": "A"}]},
           "ballots": [{"marks": [["x" * 100_000, 1]]}, {"marks": [["A", 1]]}]}
    totals = count_document(doc)["totals"]
    assert totals["invalid_reasons"] == {"oversized-record": 1}
    assert totals["valid"] == 1


def test_the_record_is_measured_as_read_in_its_documented_json_form():
    from counting.ballots import record_json

    assert record_json(parse_ballot({"marks": [["A", 1]]})) == (
        '{"explicit_invalid": false, "marks": [["A", 1]], "weight": 1}')
    assert len(record_json(parse_ballot({"marks": [["A", 1]]}))) == 61
    assert record_json(parse_ballot({"marks": [[7, 1]], "note": "not read"})) == (
        '{"explicit_invalid": false, "marks": [["7", 1]], "weight": 1}')
    assert record_json(parse_ballot({"marks": [["\u00e9\U0001F600\n", 1]]})) == (
        '{"explicit_invalid": false, "marks": [["\\u00e9\\ud83d\\ude00\\n", 1]], "weight": 1}')


@pytest.mark.parametrize("char, width", [("x", 1), ("\u00e9", 6), ("\U0001F600", 12), ("\n", 2), ('"', 2)])
@pytest.mark.parametrize("extra, reason", [(0, "unknown-candidate"), (1, "oversized-record")])
def test_the_limit_is_65536_characters_as_written(char, width, extra, reason):
    from counting.ballots import MAX_RECORD_CHARS, record_json

    around = len(record_json(Ballot(marks=(("", 1),), weight=2)))
    fill, rest = divmod(MAX_RECORD_CHARS - around, width)
    candidate = char * fill + "y" * (rest + extra)  # exactly the limit, or one character over
    record = {"marks": [[candidate, 1]], "weight": 2}
    assert len(record_json(Ballot(marks=((candidate, 1),), weight=2))) == MAX_RECORD_CHARS + extra
    assert reasons_of(PLURALITY, record) == Counter({reason: 2})


def test_fields_the_format_does_not_define_do_not_count_towards_the_size():
    assert reasons_of(PLURALITY, {"marks": [["A", 1]], "comment": "x" * 100_000}) == Counter()
    assert reasons_of(PLURALITY, {"marks": [["Z", 1]], "comment": "x" * 100_000}) == Counter({"unknown-candidate": 1})


def test_reading_problems_come_before_the_size():
    long = "x" * 100_000
    assert reasons_of(PLURALITY, {"marks": [[long, 1]], "weight": "2"}) == Counter({"malformed-weight": 1})
    assert reasons_of(PLURALITY, {"marks": [[long, 1], ["A", 1.5]]}) == Counter({"malformed-marks": 1})


def test_records_within_the_cheap_bound_always_fit():
    # parse_ballot writes a record's JSON only when its strings exceed _CHARS_ALWAYS_FIT characters; the worst
    # record within that bound (1,000 marks, the widest characters, the longest numbers) must still fit.
    from counting.ballots import _CHARS_ALWAYS_FIT, MAX_MARKS, MAX_RECORD_CHARS, MAX_VALUE, record_json

    share, extra = divmod(_CHARS_ALWAYS_FIT, MAX_MARKS)
    marks = tuple(("\U0001F600" * (share + (i < extra)), -MAX_VALUE) for i in range(MAX_MARKS))
    worst = Ballot(marks=marks, weight=MAX_VALUE, explicit_invalid=False)
    assert sum(len(c) for c, _ in marks) == _CHARS_ALWAYS_FIT
    assert len(record_json(worst)) <= MAX_RECORD_CHARS
    pairs = tuple(("\U0001F600" * share, "\U0001F600" * (i < extra)) for i in range(MAX_MARKS))
    assert len(record_json(Ballot(marks=pairs, weight=MAX_VALUE))) <= MAX_RECORD_CHARS


@pytest.mark.parametrize("groups", [True, 5, "incumbents"])
def test_exclusion_groups_that_are_not_a_list_are_refused_naming_the_field(groups):
    """Found by tests/faults/test_hostile_definitions.py: `true` there raised a TypeError."""
    from counting.definition import parse_contest

    document = {"id": "c", "method": "plurality-at-large", "seats": 1, "candidates": [{"id": "a"}],
                "exclusion_groups": groups}
    with pytest.raises(DefinitionError) as refused:
        parse_contest(document)
    assert refused.value.field == "contest.exclusion_groups"


def test_the_fast_verdict_reads_values_by_type_and_value_never_by_identity():
    """Ranks above CPython's small-int cache (256) are new int objects each time they are made: the
    fast path must still take them, and 1.0 or True (equal to 1, not ints of their own) must not."""
    ids = [f"c{i}" for i in range(300)]
    judged = Contest(id="t", method="test-ranked", candidates=tuple(Candidate(c) for c in ids), max_votes=300)
    judge = Judge(judged)
    made_at_run_time = tuple((c, int(str(i + 1))) for i, c in enumerate(ids))
    assert made_at_run_time[-1][1] is not 300  # noqa: F632 - the point of the test
    assert judge.verdict(made_at_run_time) == (None, 300, made_at_run_time, False)
    for odd in (1.0, True):
        marks = (("c0", odd),)
        assert judge.verdict(marks) == judge.full_verdict(marks)


@pytest.mark.parametrize("rule", ["overvote_rule", "duplicate_candidate_rule"])
def test_a_null_ballot_rule_is_its_default_for_validation_and_count_alike(rule):
    """Found when the ballot rules moved into counting.ranked: validation read a null rule as "not
    invalidate-ballot" and let the ballot through, while instant-runoff's count read it as the default."""
    marks = [["A", 1], ["B", 1]] if rule == "overvote_rule" else [["A", 1], ["A", 2]]
    for options in ({rule: None}, {}):
        ranked = Contest(id="t", method="instant-runoff", candidates=(Candidate("A"), Candidate("B")), options=options)
        p = classify(ranked, [(parse_ballot({"marks": marks}), 1)]).participation
        assert p.invalid_reasons == {"overvote" if rule == "overvote_rule" else "duplicate-candidate": 1}
