"""RCTab contest configurations: read one, map its rules onto the engine's, list its CVR sources.

`RULES` is the one table from RCTab's `rules` keys to the engine: each entry reads its value into
the contest being built, an `rcv` contest (the engine's method that counts as RCTab does), whose
options carry RCTab's rule names in the interchange's spelling (`continueUntilTwoCandidatesRemain` ->
`continue_until_two_candidates_remain`, values in kebab case). A key RCTab does not have is refused.

Paths in `cvrFileSources` are relative to the configuration's folder, as RCTab resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from counting.methods.rcv_rules import WinnerMode
from counting.methods.rcv_ties import TieBreakMode
from counting.vocabulary import DuplicateRule, OvervoteRule

from .errors import ConfigError, CvrError
from .files import limits, open_regular, read_capped
from .json_members import load_whole
from .records import Names
from .source import Source

UWI_NAME = "Undeclared Write-ins"  # RCTab's name for the pool of write-ins nobody declared
PROVIDERS = ("ess", "cdf", "dominion", "hart", "clearBallot", "genericCsv")
PERCENTAGE_MODE = WinnerMode.BOTTOMS_UP_PERCENTAGE


@dataclass
class Plan:
    """What a configuration asks for: the contest (interchange JSON), its CVR sources, how their
    choices map to candidates, and the report's header."""

    contest: dict
    sources: list[Source]
    names: Names
    output: dict
    path: Path | None = None
    number_of_winners: int = 1  # as RCTab reports it (0 in the percentage-threshold mode)


@dataclass
class _Build:
    """The contest being built from the rules (the entries of `RULES` fill it in)."""

    method: str = "rcv"
    seats: int = 1
    number_of_winners: int = 1
    max_votes: int | None = None
    options: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Values as RCTab writes them: strings ("1", "", "max"), numbers or booleans


def _int(key: str, value: Any, empty: int | None = None) -> int | None:
    if value in ("", None):
        return empty
    if isinstance(value, bool):
        raise ConfigError(f"rules.{key}", f"must be a whole number, got {value!r}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"rules.{key}", f"must be a whole number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"rules.{key}", f"must not be negative, got {value!r}")
    return number


def _bool(key: str, value: Any) -> bool:
    if value in (None, ""):
        return False
    if not isinstance(value, bool):
        raise ConfigError(f"rules.{key}", f"must be true or false, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------
# The rules, one entry each


def _choice(table: dict[str, str], option: str) -> Callable:
    """A rule whose RCTab values map one to one onto the option's."""

    def rule(key, value, build: _Build) -> None:
        if value not in table:
            raise ConfigError(f"rules.{key}", f"must be one of {', '.join(table)}, got {value!r}")
        build.options[option] = table[value]

    return rule


def _flag(option: str) -> Callable:
    def rule(key, value, build: _Build) -> None:
        build.options[option] = _bool(key, value)

    return rule


def _whole(option: str, empty: int | None = None) -> Callable:
    def rule(key, value, build: _Build) -> None:
        number = _int(key, value, empty)
        if number is not None:
            build.options[option] = number

    return rule


WINNER_ELECTION_MODES = {
    "singleWinnerMajority": WinnerMode.SINGLE_WINNER,
    "multiWinnerAllowMultipleWinnersPerRound": WinnerMode.MULTIPLE_PER_ROUND,
    "multiWinnerAllowOnlyOneWinnerPerRound": WinnerMode.ONE_PER_ROUND,
    "bottomsUp": WinnerMode.BOTTOMS_UP,
    "bottomsUpUsingPercentageThreshold": PERCENTAGE_MODE,
    "multiPassIrv": WinnerMode.MULTI_PASS,
}

OVERVOTE_RULES = {
    "exhaustImmediately": OvervoteRule.EXHAUST_IMMEDIATELY,
    "alwaysSkipToNextRank": OvervoteRule.ALWAYS_SKIP_TO_NEXT_RANK,
    "exhaustIfMultipleContinuing": OvervoteRule.EXHAUST_IF_MULTIPLE_CONTINUING,
}

TIE_BREAK_MODES = {
    "useCandidateOrder": TieBreakMode.USE_CANDIDATE_ORDER,
    "generatePermutation": TieBreakMode.GENERATE_PERMUTATION,
    "random": TieBreakMode.RANDOM,
    "previousRoundCountsThenRandom": TieBreakMode.PREVIOUS_THEN_RANDOM,
    "previousRoundCountsThenAsk": TieBreakMode.PREVIOUS_THEN_ASK,
    "stopCountingAndAsk": TieBreakMode.ASK,
}


def _number_of_winners(key, value, build: _Build) -> None:
    """Seats; 0 only in the percentage-threshold mode, which elects whoever remains (checked in
    `map_rules`, once the mode is known)."""
    build.seats = _int(key, value, empty=1)


def _max_skipped(key, value, build: _Build) -> None:
    build.options["max_skipped_ranks"] = None if value == "unlimited" else _int(key, value)


def _max_rankings(key, value, build: _Build) -> None:
    if value != "max":
        rankings = _int(key, value)
        if not rankings:
            raise ConfigError(f"rules.{key}", f"must be at least 1 or \"max\", got {value!r}")
        build.max_votes = rankings


def _duplicates(key, value, build: _Build) -> None:
    build.options["duplicate_candidate_rule"] = DuplicateRule.EXHAUST if _bool(key, value) else DuplicateRule.SKIP


def _percentage(key, value, build: _Build) -> None:
    if value not in ("", None):
        build.options["bottoms_up_percentage_threshold"] = str(value).strip()


def _random_seed(key, value, build: _Build) -> None:
    """A Java long; RCTab accepts negative seeds."""
    if value in ("", None):
        return
    try:
        build.options["random_seed"] = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"rules.{key}", f"must be a whole number, got {value!r}") from None


def _ignored(key, value, build: _Build) -> None:
    """Settings with no effect on the count (or read elsewhere)."""


RULES: dict[str, Callable[[str, Any, _Build], None]] = {
    "winnerElectionMode": _choice(WINNER_ELECTION_MODES, "winner_election_mode"),
    "numberOfWinners": _number_of_winners,
    "overvoteRule": _choice(OVERVOTE_RULES, "overvote_rule"),
    "maxSkippedRanksAllowed": _max_skipped,
    "maxRankingsAllowed": _max_rankings,
    "exhaustOnDuplicateCandidate": _duplicates,
    "batchElimination": _flag("batch_elimination"),
    "tiebreakMode": _choice(TIE_BREAK_MODES, "tie_break_mode"),
    "randomSeed": _random_seed,
    "decimalPlacesForVoteArithmetic": _whole("decimal_places_for_vote_arithmetic"),
    "continueUntilTwoCandidatesRemain": _flag("continue_until_two_candidates_remain"),
    "doesFirstRoundDetermineThreshold": _flag("first_round_determines_threshold"),
    "nonIntegerWinningThreshold": _flag("non_integer_winning_threshold"),
    "hareQuota": _flag("hare_quota"),
    "cutoffElimination": _flag("cutoff_elimination"),
    "minimumVoteThreshold": _whole("minimum_vote_threshold", empty=0),
    "stopTabulationEarlyAfterRound": _whole("stop_tabulation_early_after_round"),
    "multiSeatBottomsUpPercentageThreshold": _percentage,
    "rulesDescription": _ignored,
    # Older configurations keep these source settings under `rules`: read with the sources.
    "treatBlankAsUndeclaredWriteIn": _ignored,
    "overvoteLabel": _ignored,
    "skippedRankLabel": _ignored,
    "undeclaredWriteInLabel": _ignored,
}


def map_rules(rules: dict) -> _Build:
    """Every rule of the configuration through `RULES`; an unknown key is refused by name."""
    build = _Build()
    if not isinstance(rules, dict):
        raise ConfigError("rules", "must be an object")
    for key, value in rules.items():
        if key not in RULES:
            raise ConfigError(f"rules.{key}", "unknown RCTab rule")
        RULES[key](key, value, build)
    build.number_of_winners = build.seats
    if build.seats == 0:
        if build.options.get("winner_election_mode") != PERCENTAGE_MODE:
            raise ConfigError("rules.numberOfWinners", "0 winners needs winnerElectionMode bottomsUpUsingPercentageThreshold")
        build.seats = 1  # the percentage-threshold mode counts no seats: whoever remains is elected
    return build


# ---------------------------------------------------------------------------------------------
# Candidates and sources


def _candidates(raw: Any) -> list[tuple[str, list[str], bool]]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("candidates", "must be a non-empty list")
    out = []
    for i, cand in enumerate(raw):
        where = f"candidates[{i}]"
        if not isinstance(cand, dict) or not isinstance(cand.get("name"), str) or not cand["name"].strip():
            raise ConfigError(f"{where}.name", "is required")
        aliases = list(cand.get("aliases") or [])
        if cand.get("code"):
            aliases.append(cand["code"])
        out.append((cand["name"].strip(), [str(a) for a in aliases], bool(cand.get("excluded"))))
    names = [n for n, _, _ in out]
    if len(set(names)) != len(names):
        raise ConfigError("candidates", "a candidate name is listed twice")
    return out


def _source(i: int, raw: Any, folder: Path, legacy: dict, root: Path | None = None) -> Source:
    where = f"cvrFileSources[{i}]"
    if not isinstance(raw, dict):
        raise ConfigError(where, "must be an object")
    provider = raw.get("provider")
    if provider not in PROVIDERS:
        raise ConfigError(f"{where}.provider", f"must be one of {', '.join(PROVIDERS)}, got {provider!r}")
    if not raw.get("filePath"):
        raise ConfigError(f"{where}.filePath", "is required")

    def column(key: str, default: int | None) -> int | None:
        value = raw.get(key, "")
        if value in ("", None):
            return default
        try:
            number = int(str(value))
        except ValueError:
            raise ConfigError(f"{where}.{key}", f"must be a whole number, got {value!r}") from None
        if number < 1:
            raise ConfigError(f"{where}.{key}", f"must be at least 1, got {value!r}")
        return number

    def text(key: str) -> str:
        value = raw.get(key, legacy.get(key, ""))
        return "" if value is None else str(value)

    path = folder / str(raw["filePath"])
    if root is not None and not path.resolve().is_relative_to(root.resolve()):
        raise ConfigError(f"{where}.filePath", f"{raw['filePath']!r} leaves the configuration's folder {root}: "
                          "not read (--allow-outside-paths reads it)")
    return Source(
        provider=provider,
        path=path,
        root=root,
        contest_id=text("contestId"),
        first_vote_column=column("firstVoteColumnIndex", 1),
        first_vote_row=column("firstVoteRowIndex", 2),
        id_column=column("idColumnIndex", None),
        precinct_column=column("precinctColumnIndex", None),
        overvote_delimiter=text("overvoteDelimiter"),
        overvote_label=text("overvoteLabel"),
        skipped_rank_label=text("skippedRankLabel"),
        uwi_label=text("undeclaredWriteInLabel"),
        blank_is_uwi=bool(raw.get("treatBlankAsUndeclaredWriteIn", legacy.get("treatBlankAsUndeclaredWriteIn", False))),
    )


# ---------------------------------------------------------------------------------------------
# The whole configuration


def read_config(path: str | Path, allow_outside_paths: bool = False) -> Plan:
    """The plan of a configuration file. Its sources' paths are relative to its folder, and one
    that leaves the folder (`..`, an absolute path, a symlink) is refused unless `allow_outside_paths`."""
    path = Path(path)
    try:
        with open_regular(path) as handle:
            raw = load_whole(read_capped(handle, limits().record_bytes, str(path), "the configuration"), str(path))
    except CvrError as exc:
        raise ConfigError(str(path), exc.message) from None
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "must be a JSON object")
    return plan_of(raw, path, allow_outside_paths)


def plan_of(raw: dict, path: Path, allow_outside_paths: bool = False) -> Plan:
    build = map_rules(raw.get("rules", {}))
    candidates = _candidates(raw.get("candidates"))
    rules = raw.get("rules") or {}
    sources_raw = raw.get("cvrFileSources")
    if not isinstance(sources_raw, list) or not sources_raw:
        raise ConfigError("cvrFileSources", "must be a non-empty list")
    root = None if allow_outside_paths else path.parent
    sources = [_source(i, s, path.parent, rules, root) for i, s in enumerate(sources_raw)]
    if build.options.get("overvote_rule") == OvervoteRule.EXHAUST_IF_MULTIPLE_CONTINUING:
        for i, source in enumerate(sources):
            if source.overvote_label:
                # the label does not say which candidates were marked, and this rule needs to know
                raise ConfigError(f"cvrFileSources[{i}].overvoteLabel",
                                  "cannot be used with overvoteRule exhaustIfMultipleContinuing")
    with_uwi = any(s.uwi_label or s.blank_is_uwi for s in sources)
    uwi = UWI_NAME if with_uwi else None
    sources = [_with_rankings(s, build.max_votes) for s in sources]
    names = Names(
        [(name, aliases) for name, aliases, _ in candidates],
        uwi=uwi,
        uwi_labels=[s.uwi_label for s in sources],
        overvote_labels=[s.overvote_label for s in sources],
        skipped_labels=[s.skipped_rank_label for s in sources],
    )
    ids = [c for c, _, _ in candidates]
    excluded = [c for c, _, out in candidates if out]
    if excluded:
        build.options["excluded_candidates"] = excluded
    contest_candidates = [{"id": c, "name": c} for c in ids]
    if uwi:
        contest_candidates.append({"id": uwi, "name": uwi, "undeclared_write_in": True})
    output = raw.get("outputSettings") or {}
    stem = path.stem.removesuffix("_config")
    contest = {
        "id": stem,
        "method": build.method,
        "seats": build.seats,
        "max_votes": build.max_votes,
        "candidates": contest_candidates,
        # useCandidateOrder: earlier in the configuration is favoured; RCTab lists write-ins last
        "options": {**build.options, "tie_break_order": [c["id"] for c in contest_candidates]},
    }
    return Plan(
        contest=contest,
        sources=sources,
        names=names,
        output=dict(output),
        path=path,
        number_of_winners=build.number_of_winners,
    )


def _with_rankings(source: Source, max_votes: int | None) -> Source:
    return replace(source, max_rankings=max_votes)


def source_of(provider: str, path: str | Path, options: dict) -> Source:
    """A CVR source given outside a configuration (`tally load --cvr`): `options` are the keys of an
    RCTab `cvrFileSources` entry (first vote column, precinct column, labels, contest id, ...)."""
    raw = {**options, "provider": provider, "filePath": str(path)}
    try:
        return _source(0, raw, Path.cwd(), {})
    except ConfigError as exc:
        raise ConfigError(exc.field.replace("cvrFileSources[0]", "--cvr-options"), exc.message) from None
