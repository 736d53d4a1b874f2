"""10,000 malformed ballots loaded beside valid ones and tallied by real workers: every one is kept
and classified invalid with a reason, the totals add up, and the valid ballots' result is exactly
the result of the valid ballots alone.

The expected reason of each hostile record is the engine's own verdict on that record
(counting.parse_ballot + classify): the loader keeps no limit of its own (a record longer than the
interchange format's record-size limit is oversized-record in the engine too)."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest

import counting
from counting.ballots import MAX_MARKS, parse_ballot
from counting.validation import classify
from services.loading.ballots import RAW_LIMIT
from tests import factories as f

from .helpers import results, runs, wait_run_over

pytestmark = pytest.mark.integration

HOSTILE = 10_000


def _hostile_marks(kind: str, names: list[str], rng: random.Random):
    """Malformed marks of one kind, for a contest whose candidates are `names` and mark kind `kind`."""
    a, b, c = names[0], names[1], names[2]
    pair = kind == "pair"
    one = (lambda x: [[x, b]]) if pair else (lambda x: [[x, 1]])

    def value(v):
        return [[a, v]]

    return {
        "unknown-candidate": one("nobody"),
        "numeric-candidate": one(7),
        "empty-candidate": one(""),
        "nul-candidate": one("\u0000"),
        # (a lone UTF-16 surrogate, "\ud800": test_lone_surrogate_in_a_ballot_does_not_block_the_tally)
        "null-candidate": one(None),
        "negative": value(-rng.randint(1, 10**6)),
        "zero": value(0),
        "above-storage": value(70_000),  # beyond the compact 16-bit form: stored verbatim
        "huge": value(10**9),
        "enormous": value(10**40),
        "float": value(1.5),
        "nan": value(math.nan),
        "infinity": value(-math.inf),
        "bool": value(True),
        "null-value": value(None),
        "string-value": value("1") if not pair else [[a, "nobody"]],
        "out-of-range": [[a, a]] if pair else value(len(names) + 1 + rng.randint(0, 100)),
        "duplicate": [[a, b], [a, b]] if pair else ([[a, 1], [a, 1]] if kind == "check" else [[a, 1], [a, 2]]),
        "overvote": [[a, b], [b, a]] if pair else ([[a, 1], [b, 1], [c, 1]] if kind == "check" else [[a, 1], [b, 1]]),
        "object-mark": [{"candidate": a, "rank": 1}],
        "string-mark": [a],
        "number-mark": [3],
        "null-mark": [None],
        "short-mark": [[a]],
        "long-mark": [[a, 1, 2]],
        "nested-mark": [[[a, 1]]],
        "deep-mark": json.loads("[" * 60 + "1" + "]" * 60),
        "marks-string": "abc",
        "marks-object": {a: 1},
        "marks-number": 5,
        "marks-null": None,
        "too-many-marks": [[names[i % len(names)], 1 + i % 3] for i in range(MAX_MARKS + 1 + rng.randint(0, 50))],
        "oversized-raw": one("x" * (RAW_LIMIT + rng.randint(1, 5000))),
    }


RECORD_KINDS = ["weight-string", "weight-negative", "weight-zero", "weight-float", "weight-bool", "weight-huge",
                "explicit-string", "explicit-null", "explicit-number"]
RARE = {"oversized-raw", "too-many-marks"}  # big records: a few dozen of each are enough


def _hostile(definition: dict, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    area_ids = [a["id"] for a in definition["areas"]]
    contests = definition["contests"]
    out = []
    while len(out) < count:
        c = rng.choice(contests)
        names = [x["id"] for x in c["candidates"]]
        kind = counting.METHODS[c["method"]].mark_kind
        marks = _hostile_marks(kind, names, rng)
        label = rng.choice(list(marks) + RECORD_KINDS)
        if label in RARE and rng.random() > 0.05:
            continue
        record = {"contest": c["id"], "area": rng.choice(area_ids)}
        if label in RECORD_KINDS:
            record["marks"] = [[names[0], 1]] if kind != "pair" else [[names[0], names[1]]]
            field, value = {
                "weight-string": ("weight", "2"), "weight-negative": ("weight", -3), "weight-zero": ("weight", 0),
                "weight-float": ("weight", 2.5), "weight-bool": ("weight", True), "weight-huge": ("weight", 10**12),
                "explicit-string": ("explicit_invalid", "no"), "explicit-null": ("explicit_invalid", None),
                "explicit-number": ("explicit_invalid", 0),
            }[label]
            record[field] = value
        else:
            record["marks"] = marks[label]
            if rng.random() < 0.2:
                record["weight"] = rng.randint(2, 4)  # a valid weight on an invalid ballot: counted weighted
        out.append(record)
    return out


def _expected_reasons(definition: dict, hostile: list[dict]) -> dict[str, Counter]:
    """contest id -> reason -> weight, by the engine's verdict on each record."""
    contests = {c["id"]: counting.parse_contest({k: v for k, v in c.items() if k not in ("areas",)})
                for c in definition["contests"]}
    out: dict[str, Counter] = {c: Counter() for c in contests}
    for record in hostile:
        content = {k: v for k, v in record.items() if k not in ("contest", "area")}
        ballot = parse_ballot(content)
        p = classify(contests[record["contest"]], [(ballot, 1)]).participation
        assert p.invalid_implicit == ballot.weight and p.valid == p.blank == p.invalid_explicit == 0, (record, p)
        (reason,) = p.invalid_reasons
        out[record["contest"]][reason] += ballot.weight
    return out


@pytest.mark.slow
def test_hostile_ballots_are_all_classified_and_change_no_valid_result(stack):
    contests = [f.contest("council", "plurality-at-large", candidates=5, seats=2, max_votes=2),
                f.contest("mayor", "instant-runoff", candidates=4),
                f.contest("duel", "pairwise-beta", candidates=4)]
    definition = f.election("hostile-1", contests, areas=f.area_tree((3, 3)))
    valid = f.random_ballots(definition, 2000, seed=41, hostile=False)
    hostile = _hostile(definition, HOSTILE, seed=42)
    expected_reasons = _expected_reasons(definition, hostile)
    assert len(set().union(*expected_reasons.values())) >= 10, expected_reasons  # a variety of flaws
    mixed = valid + hostile
    random.Random(43).shuffle(mixed)
    election_id, period_id = f.load(stack.database_url, definition, mixed)
    stack.start_worker("w1", concurrency=2)
    stack.tally("advance")
    run_id, status, error = wait_run_over(stack.database_url, period_id, 120)
    assert status == "COMPLETED", error

    got = results(stack.database_url, election_id)
    alone = f.direct_count(definition, valid)
    hostile_records = Counter(b["contest"] for b in hostile)
    for key, result in got.items():
        want = alone[key]
        # The valid ballots' result is the result of the valid ballots alone.
        for field in ("winners", "candidates", "ties", "rounds"):
            assert result.get(field) == want.get(field), (key, field)
        totals = result["totals"]
        for field in ("valid", "blank", "invalid_explicit"):
            assert totals[field] == want["totals"][field], (key, field)
        # Every hostile ballot is implicitly invalid, with its reason; reasons add up.
        reasons = Counter(want["totals"]["invalid_reasons"]) + expected_reasons[key]
        assert Counter(totals["invalid_reasons"]) == reasons, key
        assert totals["invalid_implicit"] == sum(reasons.values()) == sum(totals["invalid_reasons"].values())
        assert totals["total_votes"] == (
            totals["valid"] + totals["blank"] + totals["invalid_explicit"] + totals["invalid_implicit"])
        # Nothing dropped: every record is counted.
        assert result["extended_metrics"]["total_ballots"] == (
            want["extended_metrics"]["total_ballots"] + hostile_records[key])
    assert runs(stack.database_url, period_id) == [(run_id, "COMPLETED", None)]


@pytest.mark.slow
def test_lone_surrogate_in_a_ballot_does_not_block_the_tally(stack):
    definition = f.election("surrogate-1", [f.contest("mayor", "plurality-at-large", candidates=3)])
    valid = f.random_ballots(definition, 300, seed=44, hostile=False)
    hostile = [{"contest": "mayor", "area": "root", "marks": [["\ud800", 1]]}]
    election_id, period_id = f.load(stack.database_url, definition, valid + hostile)
    stack.start_worker("w1")
    stack.tally("advance")
    run_id, status, error = wait_run_over(stack.database_url, period_id, 60)
    assert status == "COMPLETED", error
    result = results(stack.database_url, election_id)["mayor"]
    want = f.direct_count(definition, valid)["mayor"]
    assert result["winners"] == want["winners"] and result["candidates"] == want["candidates"]
    assert result["totals"]["invalid_reasons"] == {**want["totals"]["invalid_reasons"], "unknown-candidate": 1}


def test_deeply_nested_ballot_file_is_refused_cleanly(stack, tmp_path):
    definition = f.election("nested-1", [f.contest("mayor", "plurality-at-large", candidates=3)])
    f.load(stack.database_url, definition, f.random_ballots(definition, 10, seed=45, hostile=False))
    depth = 100_000
    path = tmp_path / "nested-ballots.json"
    path.write_text('{"election": "nested-1", "period": "main", "ballots": [{"contest": "mayor", "area": "root", '
                    '"marks": ' + "[" * depth + "]" * depth + "}]}")
    out = stack.tally("load", "--ballots", str(path), check=False)
    assert "Traceback" not in out.stderr, out.stderr[-600:]
    assert out.returncode == 2 and out.stderr.startswith("error: ballots"), out.stderr[-600:]


def test_a_record_nested_too_deeply_to_keep_is_counted_malformed(pg_url):
    definition = f.election("nested-2", [f.contest("mayor", "plurality-at-large", candidates=3)])
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    ballots = [{"contest": "mayor", "area": "root", "marks": [deep]}]
    from models.db import session_scope
    from services.loading.ballots import load_ballots
    from services.loading.definition import load_definition

    with session_scope(pg_url) as session:
        load_definition(session, definition)
        report = load_ballots(session, "nested-2", "main", ballots)
    assert report.loaded == 1
    with session_scope(pg_url) as session:
        from models import entities as m
        from sqlalchemy import select

        stored = session.scalars(select(m.Ballot)).one()
    assert stored.defect == "malformed-marks" and stored.raw is None
