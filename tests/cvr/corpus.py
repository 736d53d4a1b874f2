"""Where RCTab's native regression cases are (../shared/corpus/rctab-native beside the repo), and
what each one is for this project."""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rctab-native"
PRESENT = CORPUS.is_dir()
ABSENT = f"the RCTab corpus is not checked out beside the repo at {CORPUS}"

# Folders that are not tabulation cases (CORPUS.md): RCTab's refusals, other features, a person asked.
NOT_TABULATION = {
    "invalid_params_test": "tests RCTab's refusal of bad rules",
    "invalid_sources_test": "tests RCTab's refusal of bad sources",
    "invalid_output_directory": "tests RCTab's output directory check",
    "max_ranking_enforcement": "tests RCTab's refusal of too many rankings",
    "signature_validation": "tests RCTab's signed-file check",
    "conversions_from_cdf": "tests RCTab's CVR conversion, not a count",
    "conversions_from_dominion": "tests RCTab's CVR conversion, not a count",
    "conversions_from_ess": "tests RCTab's CVR conversion, not a count",
    "sample_interactive_tiebreak": "asks a person to break the tie",
    "tabulate_by_precinct_without_precincts": "tests RCTab's refusal of per-precinct output without precincts",
}

# Cases whose rules the engine does not have yet (issue 17 adds them): the rule `tally count
# --rctab-config` names when it refuses the configuration.
NEEDS_ISSUE_17 = {
    "2013_minneapolis_park_bottoms_up": "winnerElectionMode=bottomsUp",
    "2013_minneapolis_park_sequential": "winnerElectionMode=multiPassIrv",
    "sequential_with_batch": "winnerElectionMode=multiPassIrv",
    "minneapolis_multi_seat_threshold": "winnerElectionMode=multiWinnerAllowMultipleWinnersPerRound",
    "more_winners_than_candidates": "winnerElectionMode=multiWinnerAllowMultipleWinnersPerRound",
    "multi_seat_uwi_test": "winnerElectionMode=multiWinnerAllowMultipleWinnersPerRound",
    "test_set_multi_winner_whole_threshold": "winnerElectionMode=multiWinnerAllowMultipleWinnersPerRound",
    "test_set_allow_only_one_winner_per_round": "winnerElectionMode=multiWinnerAllowOnlyOneWinnerPerRound",
    "multi_seat_bottoms_up_with_cutoff_eliminate": "winnerElectionMode=bottomsUpUsingPercentageThreshold",
    "multi_seat_bottoms_up_with_static_threshold": "winnerElectionMode=bottomsUpUsingPercentageThreshold",
    "continue_tabulation_test": "continueUntilTwoCandidatesRemain=True",
    "continue_until_two_threshold_freeze": "continueUntilTwoCandidatesRemain=True",
    "continue_until_two_with_batch_elimination_test": "continueUntilTwoCandidatesRemain=True",
    "first_round_determines_threshold_test": "doesFirstRoundDetermineThreshold=True",
    "stop_tabulation_early_test": "stopTabulationEarlyAfterRound=1",
    "excluded_test": "excluded candidates",
    "nist_xml_cdf_2": "tiebreakMode=random",
    "test_set_treat_blank_as_undeclared_write_in": "tiebreakMode=random",
    "tiebreak_seed_test": "tiebreakMode=random",
    "tiebreak_generate_permutation_test": "tiebreakMode=generatePermutation",
    "tiebreak_previous_round_counts_then_random_test": "tiebreakMode=previousRoundCountsThenRandom",
    "unisyn_xml_cdf_city_chief_of_police": "tiebreakMode=random",
    "unisyn_xml_cdf_city_coroner": "tiebreakMode=random",
    "unisyn_xml_cdf_city_council_member": "tiebreakMode=random",
    "unisyn_xml_cdf_city_mayor": "tiebreakMode=random",
    "unisyn_xml_cdf_city_tax_collector": "tiebreakMode=random",
    "unisyn_xml_cdf_county_coroner": "tiebreakMode=random",
}


def cases() -> list[Path]:
    """Every case folder with a configuration (the folder name is the case)."""
    if not PRESENT:
        return []
    return sorted(p.parent for p in CORPUS.glob("*/*_config.json"))


def config_of(case: Path) -> Path:
    return next(case.glob("*_config.json"))


def missing_sources(case: Path) -> list[str]:
    """The configuration's CVR files that this copy of the corpus does not hold."""
    config = json.loads(config_of(case).read_text())
    missing = []
    for source in config.get("cvrFileSources", []):
        path = case / source.get("filePath", "")
        if not source.get("filePath") or not path.exists():
            missing.append(source.get("filePath", ""))
        elif source.get("provider") == "dominion" and not list(path.glob("CvrExport*.json")):
            missing.append(f"{source['filePath']}/CvrExport.json")
    return missing
