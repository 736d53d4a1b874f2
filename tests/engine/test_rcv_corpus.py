"""RCTab's own regression cases, counted by the `rcv` method straight from RCTab's configuration and
CVR spreadsheets (tests/engine/rctab_native.py): every round must match RCTab's detailed report
(tallies to its decimal places, threshold, elected, eliminated, inactive ballots by reason), and
multi-pass IRV must give one pass per report."""

from __future__ import annotations

import pytest

from tests.engine.rctab_native import NATIVE, count_case, differences, expected_reports, number

# Every case of the corpus whose CVRs are ES&S spreadsheets and whose count RCTab reports.
ESS_CASES = [
    # winner election modes
    "test_set_allow_only_one_winner_per_round",
    "minneapolis_multi_seat_threshold",
    "more_winners_than_candidates",
    "multi_seat_uwi_test",
    "multi_seat_bottoms_up_with_cutoff_eliminate",
    "multi_seat_bottoms_up_with_static_threshold",
    "2013_minneapolis_park_bottoms_up",
    "2013_minneapolis_park_sequential",
    "sequential_with_batch",
    # single-seat rules
    "continue_tabulation_test",
    "continue_until_two_threshold_freeze",
    "continue_until_two_with_batch_elimination_test",
    "first_round_determines_threshold_test",
    "stop_tabulation_early_test",
    "excluded_test",
    "test_set_treat_blank_as_undeclared_write_in",
    # tie-break modes
    "tiebreak_generate_permutation_test",
    "tiebreak_previous_round_counts_then_random_test",
    "tiebreak_seed_test",
    "tiebreak_use_permutation_in_config_test",
    # ballot rules, write-ins, aliases
    "2015_portland_mayor",
    "2015_portland_mayor_codes",
    "aliases_ess_xlsx",
    "batch_example",
    "duplicate_test",
    "exhaust_if_multiple_continuing",
    "missing_precinct_example",
    "precinct_example",
    "skip_to_next_test",
    "test_set_overvote_delimiter",
    "uwi_cannot_win_test",
]

pytestmark = pytest.mark.skipif(not NATIVE.is_dir(), reason=f"RCTab's corpus is not beside the repo at {NATIVE}")


@pytest.mark.parametrize("case", ESS_CASES)
def test_rctab_case_is_reproduced_round_by_round(case):
    result = count_case(case)
    reports = expected_reports(case)
    if "passes" in result:
        assert len(result["passes"]) == len(reports)
        for number, (counted, report) in enumerate(zip(result["passes"], reports), start=1):
            assert counted["pass"] == number
            assert differences(counted["rounds"], report) == [], f"pass {number}"
        assert result["winners"] == [p["winners"][0] for p in result["passes"]]
    else:
        assert len(reports) == 1
        assert differences(result["rounds"], reports[0]) == []
        elected = [c for r in reports[0]["results"] for a in r["tallyResults"] if "elected" in a for c in [a["elected"]]]
        assert sorted(result["winners"]) == sorted(elected)


@pytest.mark.parametrize("case", ESS_CASES)
def test_every_ballot_is_accounted_for_in_every_round(case):
    result = count_case(case)
    valid = result["totals"]["valid"]
    for counted in result.get("passes") or [result]:
        for r in counted["rounds"]:
            kept = sum(number(v) for v in r["tallies"].values()) + number(r["exhausted"])
            assert kept + number(r.get("residual_surplus", 0)) == valid, f"round {r['round']}"
