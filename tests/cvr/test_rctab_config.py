"""The RCTab configuration reader: each rule the engine has maps onto the contest, each it does
not have is refused naming it, sources resolve against the configuration's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from cvr.errors import ConfigError
from cvr.rctab_config import UWI_NAME, Unsupported, plan_of

BASE = {
    "outputSettings": {"contestName": "Mayor"},
    "cvrFileSources": [{"provider": "ess", "filePath": "../cvrs/a.xlsx", "undeclaredWriteInLabel": "UWI"}],
    "candidates": [{"name": "Alice", "aliases": ["A1"]}, {"name": "Bob", "code": "B"}],
    "rules": {"winnerElectionMode": "singleWinnerMajority", "numberOfWinners": "1", "tiebreakMode": "useCandidateOrder"},
}


def _plan(rules=None, **top):
    doc = {**BASE, **top, "rules": {**BASE["rules"], **(rules or {})}}
    return plan_of(doc, Path("/elections/x/mayor_config.json"))


@pytest.mark.parametrize(
    "rules, options",
    [
        ({"overvoteRule": "exhaustImmediately"}, {"overvote_rule": "exhaust-immediately"}),
        ({"overvoteRule": "alwaysSkipToNextRank"}, {"overvote_rule": "always-skip-to-next-rank"}),
        ({"overvoteRule": "exhaustIfMultipleContinuing"}, {"overvote_rule": "exhaust-if-multiple-continuing"}),
        ({"maxSkippedRanksAllowed": "2"}, {"max_skipped_ranks": 2}),
        ({"maxSkippedRanksAllowed": "unlimited"}, {"max_skipped_ranks": None}),
        ({"exhaustOnDuplicateCandidate": True}, {"duplicate_candidate_rule": "exhaust"}),
        ({"exhaustOnDuplicateCandidate": False}, {"duplicate_candidate_rule": "skip"}),
        ({"batchElimination": True}, {"batch_elimination": True}),
        ({"tiebreakMode": "useCandidateOrder"}, {"tie_break_look_back": False}),
        ({"tiebreakMode": "previousRoundCountsThenRandom"}, {"tie_break_look_back": True}),
    ],
)
def test_each_rule_maps_onto_the_engine(rules, options):
    contest = _plan(rules).contest
    for key, value in options.items():
        assert contest["options"][key] == value


def test_contest_candidates_order_and_write_ins():
    plan = _plan({"maxRankingsAllowed": "4"})
    assert plan.contest["method"] == "instant-runoff" and plan.contest["seats"] == 1
    assert plan.contest["max_votes"] == 4
    assert [c["id"] for c in plan.contest["candidates"]] == ["Alice", "Bob", UWI_NAME]
    assert plan.contest["candidates"][-1]["undeclared_write_in"] is True
    assert plan.contest["options"]["tie_break_order"] == ["Alice", "Bob", UWI_NAME]
    assert plan.names.resolve("A1") == "Alice" and plan.names.resolve("B") == "Bob"
    assert plan.names.resolve("UWI") == UWI_NAME
    assert plan.sources[0].path == Path("/elections/x/../cvrs/a.xlsx")
    assert plan.contest["id"] == "mayor"


def test_lot_drawing_modes_are_remembered_for_the_count():
    assert _plan({"tiebreakMode": "random"}).lot_mode == "random"
    assert _plan().lot_mode is None


@pytest.mark.parametrize(
    "rules, named",
    [
        ({"winnerElectionMode": "multiPassIrv"}, "winnerElectionMode=multiPassIrv"),
        ({"numberOfWinners": "3"}, "numberOfWinners=3"),
        ({"continueUntilTwoCandidatesRemain": True}, "continueUntilTwoCandidatesRemain=True"),
        ({"doesFirstRoundDetermineThreshold": True}, "doesFirstRoundDetermineThreshold=True"),
        ({"stopTabulationEarlyAfterRound": "2"}, "stopTabulationEarlyAfterRound=2"),
        ({"minimumVoteThreshold": "10"}, "minimumVoteThreshold=10"),
        ({"hareQuota": True}, "hareQuota=True"),
    ],
)
def test_a_rule_the_engine_lacks_is_refused_naming_it(rules, named):
    with pytest.raises(Unsupported) as caught:
        _plan(rules)
    assert caught.value.rule == named
    assert "(issue 17)" in caught.value.message


def test_an_excluded_candidate_is_refused_naming_it():
    with pytest.raises(ConfigError) as caught:
        _plan(candidates=[{"name": "Alice", "excluded": True}])
    assert caught.value.field == "candidates[0].excluded"


@pytest.mark.parametrize(
    "rules, field",
    [({"overvoteRule": "sometimes"}, "rules.overvoteRule"), ({"tiebreakMode": "coin"}, "rules.tiebreakMode"),
     ({"maxRankingsAllowed": "lots"}, "rules.maxRankingsAllowed"), ({"colour": "blue"}, "rules.colour")],
)
def test_bad_or_unknown_rules_are_refused_by_name(rules, field):
    with pytest.raises(ConfigError) as caught:
        _plan(rules)
    assert caught.value.field == field


def test_cli_refuses_a_config_naming_the_rule(tmp_path, capsys):
    config = tmp_path / "c_config.json"
    config.write_text(json.dumps({**BASE, "rules": {**BASE["rules"], "winnerElectionMode": "bottomsUp"}}))
    assert main(["count", "--rctab-config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rules.winnerElectionMode: 'bottomsUp' needs RCTab rule winnerElectionMode=bottomsUp (issue 17)")


def test_cli_wants_a_file_or_a_config_not_both(tmp_path, capsys):
    assert main(["count"]) == 2
    assert main(["count", "x.json", "--rctab-config", "y.json"]) == 2
    assert "give either FILE or --rctab-config CONFIG" in capsys.readouterr().err


def test_an_overvote_label_is_refused_where_the_rule_needs_to_know_the_candidates():
    sources = [{**BASE["cvrFileSources"][0], "overvoteLabel": "overvote"}]
    assert _plan({"overvoteRule": "exhaustImmediately"}, cvrFileSources=sources).sources[0].overvote_label == "overvote"
    with pytest.raises(ConfigError) as caught:
        _plan({"overvoteRule": "exhaustIfMultipleContinuing"}, cvrFileSources=sources)
    assert caught.value.field == "cvrFileSources[0].overvoteLabel"
