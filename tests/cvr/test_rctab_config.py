"""The RCTab configuration reader: each rule maps onto the `rcv` contest's options, bad values are
refused naming the rule, sources resolve against the configuration's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from cvr.errors import ConfigError
from cvr.rctab_config import UWI_NAME, plan_of

BASE = {
    "outputSettings": {"contestName": "Mayor"},
    "cvrFileSources": [{"provider": "ess", "filePath": "../cvrs/a.xlsx", "undeclaredWriteInLabel": "UWI"}],
    "candidates": [{"name": "Alice", "aliases": ["A1"]}, {"name": "Bob", "code": "B"}],
    "rules": {"winnerElectionMode": "singleWinnerMajority", "numberOfWinners": "1", "tiebreakMode": "useCandidateOrder"},
}


def _plan(rules=None, **top):
    doc = {**BASE, **top, "rules": {**BASE["rules"], **(rules or {})}}
    return plan_of(doc, Path("/elections/x/mayor_config.json"), allow_outside_paths=True)


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
        ({"tiebreakMode": "useCandidateOrder"}, {"tie_break_mode": "use-candidate-order"}),
        ({"tiebreakMode": "previousRoundCountsThenRandom", "randomSeed": "-7"},
         {"tie_break_mode": "previous-round-counts-then-random", "random_seed": -7}),
        ({"tiebreakMode": "generatePermutation"}, {"tie_break_mode": "generate-permutation"}),
        ({"tiebreakMode": "stopCountingAndAsk"}, {"tie_break_mode": "stop-counting-and-ask"}),
        ({"winnerElectionMode": "multiWinnerAllowMultipleWinnersPerRound", "numberOfWinners": "3"},
         {"winner_election_mode": "multi-winner-allow-multiple-winners-per-round"}),
        ({"winnerElectionMode": "multiWinnerAllowOnlyOneWinnerPerRound"},
         {"winner_election_mode": "multi-winner-allow-only-one-winner-per-round"}),
        ({"winnerElectionMode": "bottomsUp"}, {"winner_election_mode": "bottoms-up"}),
        ({"winnerElectionMode": "multiPassIrv"}, {"winner_election_mode": "multi-pass-irv"}),
        ({"winnerElectionMode": "bottomsUpUsingPercentageThreshold", "numberOfWinners": "0",
          "multiSeatBottomsUpPercentageThreshold": "15"},
         {"winner_election_mode": "bottoms-up-using-percentage-threshold", "bottoms_up_percentage_threshold": "15"}),
        ({"decimalPlacesForVoteArithmetic": "4"}, {"decimal_places_for_vote_arithmetic": 4}),
        ({"continueUntilTwoCandidatesRemain": True}, {"continue_until_two_candidates_remain": True}),
        ({"doesFirstRoundDetermineThreshold": True}, {"first_round_determines_threshold": True}),
        ({"nonIntegerWinningThreshold": True}, {"non_integer_winning_threshold": True}),
        ({"hareQuota": True}, {"hare_quota": True}),
        ({"cutoffElimination": True}, {"cutoff_elimination": True}),
        ({"minimumVoteThreshold": "10"}, {"minimum_vote_threshold": 10}),
        ({"stopTabulationEarlyAfterRound": "2"}, {"stop_tabulation_early_after_round": 2}),
    ],
)
def test_each_rule_maps_onto_the_engine(rules, options):
    contest = _plan(rules).contest
    for key, value in options.items():
        assert contest["options"][key] == value


def test_contest_candidates_order_and_write_ins():
    plan = _plan({"maxRankingsAllowed": "4"})
    assert plan.contest["method"] == "rcv" and plan.contest["seats"] == 1
    assert plan.contest["max_votes"] == 4
    assert [c["id"] for c in plan.contest["candidates"]] == ["Alice", "Bob", UWI_NAME]
    assert plan.contest["candidates"][-1]["undeclared_write_in"] is True
    assert plan.contest["options"]["tie_break_order"] == ["Alice", "Bob", UWI_NAME]
    assert plan.names.resolve("A1") == "Alice" and plan.names.resolve("B") == "Bob"
    assert plan.names.resolve("UWI") == UWI_NAME
    assert plan.sources[0].path == Path("/elections/x/../cvrs/a.xlsx")
    assert plan.contest["id"] == "mayor"


def test_seats_follow_number_of_winners_and_zero_means_the_percentage_threshold_mode():
    assert _plan({"winnerElectionMode": "bottomsUp", "numberOfWinners": "3"}).contest["seats"] == 3
    percentage = _plan({"winnerElectionMode": "bottomsUpUsingPercentageThreshold", "numberOfWinners": "0"})
    assert percentage.contest["seats"] == 1 and percentage.number_of_winners == 0
    with pytest.raises(ConfigError) as caught:
        _plan({"numberOfWinners": "0"})
    assert caught.value.field == "rules.numberOfWinners"


def test_excluded_candidates_are_named_in_the_options():
    plan = _plan(candidates=[{"name": "Alice", "excluded": True}, {"name": "Bob"}])
    assert plan.contest["options"]["excluded_candidates"] == ["Alice"]
    assert [c["id"] for c in plan.contest["candidates"]] == ["Alice", "Bob", UWI_NAME]


@pytest.mark.parametrize(
    "rules, field",
    [({"overvoteRule": "sometimes"}, "rules.overvoteRule"), ({"tiebreakMode": "coin"}, "rules.tiebreakMode"),
     ({"maxRankingsAllowed": "lots"}, "rules.maxRankingsAllowed"), ({"colour": "blue"}, "rules.colour"),
     ({"winnerElectionMode": "mostVotes"}, "rules.winnerElectionMode"), ({"randomSeed": "x"}, "rules.randomSeed"),
     ({"continueUntilTwoCandidatesRemain": "yes"}, "rules.continueUntilTwoCandidatesRemain")],
)
def test_bad_or_unknown_rules_are_refused_by_name(rules, field):
    with pytest.raises(ConfigError) as caught:
        _plan(rules)
    assert caught.value.field == field


def test_cli_refuses_rules_the_engine_cannot_count_naming_the_option(tmp_path, capsys):
    """A configuration RCTab itself would refuse (a random tie-break without a seed) exits 2."""
    config = tmp_path / "c_config.json"
    config.write_text(json.dumps({**BASE, "rules": {**BASE["rules"], "tiebreakMode": "random"}}))
    assert main(["count", "--rctab-config", str(config), "--allow-outside-paths"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: contest.options.random_seed: is required by tie_break_mode 'random'")


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
