"""RCTab's own regression cases (../shared/corpus/rctab-native), read for the engine tests: an RCTab
configuration mapped onto an `rcv` contest, its ES&S spreadsheets read into ballots, and the expected
detailed report(s) compared round by round. A test-side reader of the simplest CVR format only: the
project's CVR readers and `tally count --rctab-config` are the product's path."""

from __future__ import annotations

import json
import warnings
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import counting
from counting import Ballot, Candidate, Contest

NATIVE = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "rctab-native"
WRITE_IN = "Undeclared Write-ins"  # RCTab's name for the pool of undeclared write-ins

MODES = {
    "singleWinnerMajority": "single-winner-majority",
    "multiWinnerAllowMultipleWinnersPerRound": "multi-winner-allow-multiple-winners-per-round",
    "multiWinnerAllowOnlyOneWinnerPerRound": "multi-winner-allow-only-one-winner-per-round",
    "bottomsUp": "bottoms-up",
    "bottomsUpUsingPercentageThreshold": "bottoms-up-using-percentage-threshold",
    "multiPassIrv": "multi-pass-irv",
}
TIE_MODES = {
    "useCandidateOrder": "use-candidate-order",
    "generatePermutation": "generate-permutation",
    "random": "random",
    "previousRoundCountsThenRandom": "previous-round-counts-then-random",
    "previousRoundCountsThenAsk": "previous-round-counts-then-ask",
    "stopCountingAndAsk": "stop-counting-and-ask",
}
OVERVOTE_RULES = {
    "exhaustImmediately": "exhaust-immediately",
    "alwaysSkipToNextRank": "always-skip-to-next-rank",
    "exhaustIfMultipleContinuing": "exhaust-if-multiple-continuing",
}
INACTIVE = {
    "exhaustedChoices": "no-more-choices",
    "overvotes": "overvote",
    "skippedRankings": "skipped-ranks",
    "repeatedRankings": "repeated-candidate",
    "finalRoundSurplus": "final-round-surplus",
}


def config_of(case: str) -> dict:
    return json.loads((NATIVE / case / f"{case}_config.json").read_text())


def _flag(value) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _int(value) -> int | None:
    return None if value in (None, "") else int(value)


def contest_of(config: dict, max_rank: int) -> Contest:
    """The RCTab configuration as an `rcv` contest (candidate names are the ids)."""
    rules = config["rules"]
    sources = config["cvrFileSources"]
    names = [c["name"] for c in config["candidates"]]
    candidates = [Candidate(n, n) for n in names]
    if any(s.get("undeclaredWriteInLabel") or _flag(s.get("treatBlankAsUndeclaredWriteIn")) for s in sources):
        candidates.append(Candidate(WRITE_IN, WRITE_IN, undeclared_write_in=True))
    mode = MODES[rules["winnerElectionMode"]]
    skipped = rules.get("maxSkippedRanksAllowed")
    options = {
        "winner_election_mode": mode,
        "tie_break_mode": TIE_MODES[rules["tiebreakMode"]],
        "tie_break_order": names,
        "overvote_rule": OVERVOTE_RULES[rules["overvoteRule"]],
        "duplicate_candidate_rule": "exhaust" if _flag(rules.get("exhaustOnDuplicateCandidate")) else "skip",
        "max_skipped_ranks": None if skipped == "unlimited" else int(skipped),
        "batch_elimination": _flag(rules.get("batchElimination")),
        "continue_until_two_candidates_remain": _flag(rules.get("continueUntilTwoCandidatesRemain")),
        "first_round_determines_threshold": _flag(rules.get("doesFirstRoundDetermineThreshold")),
        "stop_tabulation_early_after_round": _int(rules.get("stopTabulationEarlyAfterRound")),
        "decimal_places_for_vote_arithmetic": int(rules["decimalPlacesForVoteArithmetic"]),
        "non_integer_winning_threshold": _flag(rules.get("nonIntegerWinningThreshold")),
        "hare_quota": _flag(rules.get("hareQuota")),
        "cutoff_elimination": _flag(rules.get("cutoffElimination")),
        "minimum_vote_threshold": _int(rules.get("minimumVoteThreshold")) or 0,
        "excluded_candidates": [c["name"] for c in config["candidates"] if c.get("excluded")],
    }
    if options["tie_break_mode"] in ("random", "generate-permutation", "previous-round-counts-then-random"):
        options["random_seed"] = int(rules["randomSeed"])
    if rules.get("multiSeatBottomsUpPercentageThreshold"):
        options["bottoms_up_percentage_threshold"] = rules["multiSeatBottomsUpPercentageThreshold"]
    seats = int(rules["numberOfWinners"])
    declared = len(names)
    max_rankings = rules["maxRankingsAllowed"]
    max_votes = max(declared, max_rank) if max_rankings == "max" else int(max_rankings)
    return Contest(
        id=config["outputSettings"]["contestName"],
        method="rcv",
        candidates=tuple(candidates),
        seats=max(seats, 1),
        max_votes=max_votes,
        options={k: v for k, v in options.items() if v is not None},
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


@lru_cache(maxsize=4)
def _sheet_rows(path: Path, first_row: int) -> tuple[tuple, ...]:
    """The first sheet's rows from `first_row` (1-based) on, as values (read once per test run)."""
    import openpyxl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # openpyxl: "Unknown extension" of RCTab's sheets
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        return tuple(workbook.worksheets[0].iter_rows(min_row=first_row, values_only=True))


def ess_ballots(case: str, config: dict) -> list[list[tuple[str, int]]]:
    """Each ES&S row as RCTab reads it: (candidate name, rank) marks, an overvote cell as two
    candidates at that rank, skipped-rank labels as nothing, the write-in label as the pool."""
    names = {}
    for c in config["candidates"]:
        for alias in [c["name"], *c.get("aliases", []), *([c["code"]] if c.get("code") else [])]:
            names[alias] = c["name"]
    max_rankings = config["rules"]["maxRankingsAllowed"]
    rows = []
    for source in config["cvrFileSources"]:
        first_col = int(source["firstVoteColumnIndex"]) - 1
        first_row = int(source["firstVoteRowIndex"])
        last_col = None if max_rankings == "max" else first_col + int(max_rankings)
        uwi, over, skip = source.get("undeclaredWriteInLabel"), source.get("overvoteLabel"), source.get("skippedRankLabel")
        delimiter = source.get("overvoteDelimiter")
        blank_as_write_in = _flag(source.get("treatBlankAsUndeclaredWriteIn"))
        for row in _sheet_rows(NATIVE / case / source["filePath"], first_row):
            cells = [_cell(v) for v in row[first_col:last_col]]
            if last_col is not None:
                cells += [""] * (last_col - first_col - len(cells))
            marks = []
            for rank, cell in enumerate(cells, start=1):
                if not cell and blank_as_write_in:  # an empty cell (not the skipped-rank label)
                    marks.append((WRITE_IN, rank))
                if not cell or cell == skip:
                    continue
                parts = [p.strip() for p in cell.split(delimiter)] if delimiter else [cell]
                for part in parts:
                    if part == over:
                        marks += [(n, rank) for n in [c["name"] for c in config["candidates"]][:2]]
                    elif uwi and part == uwi:
                        marks.append((WRITE_IN, rank))
                    else:
                        marks.append((names[part], rank))
            rows.append(marks)
    return rows


@lru_cache(maxsize=None)
def count_case(case: str) -> dict:
    config = config_of(case)
    rows = ess_ballots(case, config)
    max_rank = max((r for marks in rows for _, r in marks), default=1)
    contest = contest_of(config, max_rank)
    grouped = Counter(tuple(m) for m in rows)
    ballots = [Ballot(marks=marks, weight=n) for marks, n in grouped.items()]
    return counting.count(contest, ballots).to_json()


def expected_reports(case: str) -> list[dict]:
    folder = NATIVE / case
    single = folder / f"{case}_expected_detailed_report.json"
    if single.exists():
        return [json.loads(single.read_text())]
    return [json.loads(p.read_text()) for p in sorted(folder.glob(f"{case}_*_expected_detailed_report.json"))]


def number(value) -> Fraction:
    return Fraction(Decimal(str(value)))


def differences(rounds: list[dict], report: dict) -> list[str]:
    """Every way our rounds differ from RCTab's report: tallies, threshold, elected, eliminated, and
    inactive ballots by reason, compared as exact numbers."""
    out = []
    expected = report["results"]
    if len(rounds) != len(expected):
        out.append(f"{len(rounds)} rounds, RCTab has {len(expected)}")
    for got, want in zip(rounds, expected):
        where = f"round {want['round']}"
        tallies = {c: number(v) for c, v in got["tallies"].items()}
        if tallies != {c: number(v) for c, v in want["tally"].items()}:
            out.append(f"{where}: tallies {got['tallies']} != {want['tally']}")
        if number(got["threshold"]) != number(want["threshold"]):
            out.append(f"{where}: threshold {got['threshold']} != {want['threshold']}")
        for kind, ours in (("elected", got["elected"]), ("eliminated", got["eliminated"])):
            theirs = sorted(a[kind] for a in want["tallyResults"] if kind in a)
            if sorted(ours) != theirs:
                out.append(f"{where}: {kind} {sorted(ours)} != {theirs}")
        inactive = {INACTIVE[k]: number(v) for k, v in want["inactiveBallots"].items() if number(v)}
        ours = {k: number(v) for k, v in got["exhausted_by"].items() if number(v)}
        if ours != inactive:
            out.append(f"{where}: inactive {ours} != {inactive}")
    return out
