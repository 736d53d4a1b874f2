"""Loading definitions and ballots through the real CLI into real PostgreSQL: bad input gets a
message naming the field and loads nothing; bad ballots are kept and counted as invalid."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from models import entities as m
from tests import factories as f
from tests.support import write_json

pytestmark = pytest.mark.integration


def _count(stack, model) -> int:
    with stack.session() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["contests"][0].update(method="coin-toss"), "contests[0].method"),
        (lambda d: d["contests"][0].update(seats=0), "contests[0].seats"),
        (lambda d: d["contests"][0].update(min_votes=3, max_votes=1), "contests[0].max_votes"),
        (lambda d: d["areas"][1].update(parent="nowhere"), "areas[1].parent"),
        (lambda d: d["voting_periods"][0].pop("ends_at"), "voting_periods[0].ends_at"),
        (lambda d: d["contests"][0].update(exclusion_groups=[{"members": ["x"], "max_elected": 1}]),
         "contests[0].exclusion_groups[0].members"),
    ],
)
def test_malformed_definition_is_refused_naming_the_field(stack, mutate, field):
    definition = f.election("bad-def", [f.contest("mayor", "plurality-at-large"), f.contest("c2", "approval")])
    broken = copy.deepcopy(definition)
    mutate(broken)
    stack.cli("db", "upgrade")
    result = stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", broken)), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {field}"), result.stderr
    for model in (m.Election, m.Contest, m.Area, m.VotingPeriod, m.Candidate):
        assert _count(stack, model) == 0


def test_unreadable_json_is_refused_with_its_position(stack):
    (stack.workdir / "d.json").write_text('{"election": {"id": "x",}')
    result = stack.cli("load", "--definition", str(stack.workdir / "d.json"), check=False)
    assert result.returncode == 2 and "line 1" in result.stderr
    assert _count(stack, m.Election) == 0


def test_a_refusal_names_the_record_after_a_text_of_several_records(stack):
    """ruff B020: two records in one text (`} ,` between them, so that the loader's cut at `},`
    does not part them) moved the count of records by the length of the second's content, and the
    unknown area of the third record was named `ballots[5]`."""
    definition = f.election("several", [f.contest("mayor", "plurality-at-large")])
    stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)))
    record = '{"contest": "mayor", "area": "%s", "marks": [["mayor-c1", 1], ["mayor-c2", 1], ["mayor-c3", 1]]}'
    (stack.workdir / "b.json").write_text(
        '{"election": "several", "period": "main", "ballots": [%s , %s,\n%s]}'
        % (record % "a1", record % "a2", record % "atlantis"))
    result = stack.cli("load", "--ballots", str(stack.workdir / "b.json"), check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ballots[2].area: unknown area 'atlantis'"), result.stderr
    assert _count(stack, m.Ballot) == 0


def test_ballot_file_naming_unknown_area_loads_nothing(stack):
    definition = f.election("routing", [f.contest("mayor", "plurality-at-large")])
    stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)))
    ballots = {"election": "routing", "period": "main", "ballots": [
        {"contest": "mayor", "area": "a1", "marks": [["mayor-c1", 1]]},
        {"contest": "mayor", "area": "atlantis", "marks": [["mayor-c1", 1]]},
    ]}
    result = stack.cli("load", "--ballots", str(write_json(stack.workdir / "b.json", ballots)), check=False)
    assert result.returncode == 2 and "ballots[1].area" in result.stderr
    assert _count(stack, m.Ballot) == 0


@pytest.mark.slow
def test_bad_ballots_are_counted_invalid_with_reasons(stack):
    definition = f.election("bad-ballots", [f.contest("mayor", "plurality-at-large", candidates=3, max_votes=1)])
    stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)))
    cands = ["mayor-c1", "mayor-c2", "mayor-c3"]
    good = [{"contest": "mayor", "area": "a1", "marks": [[cands[i % 3], 1]]} for i in range(30)]
    bad = [
        {"contest": "mayor", "area": "a2", "marks": [["mallory", 1]]},
        {"contest": "mayor", "area": "a2", "marks": [[cands[0], 1], [cands[1], 1]]},
        {"contest": "mayor", "area": "a3", "marks": "A"},
        {"contest": "mayor", "area": "a3", "marks": [[cands[0], -4]]},
        {"contest": "mayor", "area": "a3", "marks": [[cands[0], 1]], "weight": "heavy"},
        {"contest": "mayor", "area": "a3", "marks": [], "explicit_invalid": True},
        {"contest": "mayor", "area": "a3", "marks": []},
    ]
    doc = {"election": "bad-ballots", "period": "main", "ballots": good + bad}
    out = stack.cli("load", "--ballots", str(write_json(stack.workdir / "b.json", doc))).stdout
    assert "loaded 37 ballot(s)" in out
    stack.start_worker("w1")
    stack.tally("advance")
    with stack.session() as session:
        election_id = session.scalar(select(m.Election.id))
        period_id = session.scalar(select(m.VotingPeriod.id))
    out = stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "120").stdout
    assert "already completed" in out or "started" in out
    result = f.direct_count(definition, good + bad)["mayor"]
    totals = result["totals"]
    assert totals == {
        "total_votes": 37, "valid": 30, "blank": 1, "invalid_explicit": 1, "invalid_implicit": 5,
        "invalid_reasons": {"invalid-value": 1, "malformed-marks": 1, "malformed-weight": 1,
                            "too-many-marks": 1, "unknown-candidate": 1},
    }
    published = stack.cli("results", str(election_id), "--format", "json").stdout
    import json

    contest = json.loads(published)["tallies"][0]["contests"][0]["result"]
    assert contest == result


def test_a_batch_below_tally_min_batch_is_refused_unless_asked_for(pg_url, tmp_path, monkeypatch):
    """TALLY_MIN_BATCH (10 unless set) guards a batch that would show its few voters' votes: `tally load`
    refuses it naming the setting and the flag, loads nothing, and loads it with --small-batch."""
    from config.settings import load_settings
    from tests.support import Stack

    monkeypatch.delenv("TALLY_MIN_BATCH")
    assert load_settings().min_batch == 10
    stack = Stack(pg_url, "", tmp_path, TALLY_MIN_BATCH="10")
    monkeypatch.setenv("TALLY_MIN_BATCH", "10")  # `stack.cli` runs in this process
    definition = f.election("small-batch", [f.contest("mayor", "plurality-at-large")])
    stack.cli("load", "--definition", str(write_json(stack.workdir / "d.json", definition)))
    ballots = {"election": "small-batch", "period": "main",
               "ballots": [{"contest": "mayor", "area": "a1", "marks": [["mayor-c1", 1]]}] * 3}
    path = str(write_json(stack.workdir / "b.json", ballots))
    refused = stack.cli("load", "--ballots", path, check=False)
    assert refused.returncode == 2
    assert "a batch of 3 ballot(s) is smaller than TALLY_MIN_BATCH (10)" in refused.stderr
    assert "--small-batch" in refused.stderr
    assert _count(stack, m.Ballot) == 0
    assert "loaded 3 ballot(s)" in stack.cli("load", "--ballots", path, "--small-batch").stdout
