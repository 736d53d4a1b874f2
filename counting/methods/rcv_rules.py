"""The options of the `rcv` method, read and checked once: RCTab's rules under the interchange's names.

Every option is named after RCTab's configuration field (`winnerElectionMode` -> `winner_election_mode`,
values in kebab case), so an RCTab configuration maps onto a contest one field at a time. The ballot
rules (`overvote_rule`, `duplicate_candidate_rule`, `max_skipped_ranks`) and `batch_elimination`,
`tie_break_order` are instant-runoff's, with the same meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Mapping

from ..contest import Contest
from ..errors import DefinitionError
from . import irv
from .rcv_ties import SEEDED_MODES, TIE_BREAK_MODES, USE_CANDIDATE_ORDER

SINGLE_WINNER = "single-winner-majority"
MULTIPLE_PER_ROUND = "multi-winner-allow-multiple-winners-per-round"
ONE_PER_ROUND = "multi-winner-allow-only-one-winner-per-round"
BOTTOMS_UP = "bottoms-up"
BOTTOMS_UP_PERCENTAGE = "bottoms-up-using-percentage-threshold"
MULTI_PASS = "multi-pass-irv"
MODES = (SINGLE_WINNER, MULTIPLE_PER_ROUND, ONE_PER_ROUND, BOTTOMS_UP, BOTTOMS_UP_PERCENTAGE, MULTI_PASS)

MAX_DECIMAL_PLACES = 20  # RCTab's bounds for decimalPlacesForVoteArithmetic
JAVA_LONG = 1 << 63  # random_seed is a Java long

_FLAGS = (
    "non_integer_winning_threshold",
    "hare_quota",
    "cutoff_elimination",
    "continue_until_two_candidates_remain",
    "first_round_determines_threshold",
    "batch_elimination",
)


@dataclass(frozen=True)
class RcvRules:
    mode: str
    seats: int  # RCTab's numberOfWinners: the contest's seats, 0 in the percentage-threshold mode
    places: int  # decimalPlacesForVoteArithmetic
    non_integer_threshold: bool
    hare_quota: bool
    percentage: Fraction | None  # multiSeatBottomsUpPercentageThreshold, as a fraction of 1
    cutoff: bool
    continue_until_two: bool
    first_round_threshold: bool
    stop_after: int | None
    excluded: frozenset[str]
    minimum: int
    batch: bool
    ballots: irv.Rules  # how a ballot moves down its ranks
    tie_break_mode: str
    tie_break_order: tuple[str, ...]
    seed: int | None

    @property
    def uses_surpluses(self) -> bool:
        """Winners' surpluses transfer in every multi-seat mode but bottoms-up (RCTab's rule)."""
        return self.seats > 1 and self.mode not in (BOTTOMS_UP, MULTI_PASS)


def rcv_rules(contest: Contest) -> RcvRules:
    o = contest.options
    mode = o.get("winner_election_mode") or SINGLE_WINNER
    order = o.get("tie_break_order") or contest.candidate_ids
    return RcvRules(
        mode=mode,
        seats=0 if mode == BOTTOMS_UP_PERCENTAGE else contest.seats,
        places=o.get("decimal_places_for_vote_arithmetic", 4),
        non_integer_threshold=bool(o.get("non_integer_winning_threshold")),
        hare_quota=bool(o.get("hare_quota")),
        percentage=_percentage(o.get("bottoms_up_percentage_threshold")),
        cutoff=bool(o.get("cutoff_elimination")),
        continue_until_two=bool(o.get("continue_until_two_candidates_remain")),
        first_round_threshold=bool(o.get("first_round_determines_threshold")),
        stop_after=o.get("stop_tabulation_early_after_round"),
        excluded=frozenset(o.get("excluded_candidates") or ()),
        minimum=o.get("minimum_vote_threshold") or 0,
        batch=bool(o.get("batch_elimination")),
        ballots=irv.rules_of(contest),
        tie_break_mode=o.get("tie_break_mode") or USE_CANDIDATE_ORDER,
        tie_break_order=tuple(order) + tuple(c for c in contest.candidate_ids if c not in order),
        seed=o.get("random_seed"),
    )


def _percentage(value: Any) -> Fraction | None:
    """`bottoms_up_percentage_threshold` (a percentage, e.g. "15" or "12.5") as a fraction of 1."""
    if value is None:
        return None
    return Fraction(Decimal(str(value))) / 100


def check_rcv(contest: Contest) -> None:
    """Refuse options that cannot be counted, naming the field (RCTab's own refusals included)."""
    o = contest.options
    where = "contest.options"
    _choice(o, "winner_election_mode", MODES)
    _choice(o, "tie_break_mode", TIE_BREAK_MODES)
    irv._check_choice(o, "overvote_rule", irv.OVERVOTE_RULES)
    irv._check_choice(o, "duplicate_candidate_rule", irv.DUPLICATE_RULES)
    irv._check_tie_break_order(contest)
    for flag in _FLAGS:
        if o.get(flag) is not None and not isinstance(o[flag], bool):
            raise DefinitionError(f"{where}.{flag}", f"must be true or false, got {o[flag]!r}")
    _integer(o, "max_skipped_ranks", 0)
    _integer(o, "decimal_places_for_vote_arithmetic", 1, MAX_DECIMAL_PLACES)
    _integer(o, "stop_tabulation_early_after_round", 1)
    _integer(o, "minimum_vote_threshold", 0)
    _integer(o, "random_seed", -JAVA_LONG, JAVA_LONG - 1)
    irv.check_candidate_list(contest, "excluded_candidates")
    _check_percentage(o)
    _check_mode(contest)


def _check_mode(contest: Contest) -> None:
    o = contest.options
    rules = rcv_rules(contest)
    where = "contest.options"
    if rules.tie_break_mode in SEEDED_MODES and rules.seed is None:
        raise DefinitionError(f"{where}.random_seed", f"is required by tie_break_mode {rules.tie_break_mode!r}")
    multi_winner = rules.mode in (MULTIPLE_PER_ROUND, ONE_PER_ROUND)
    if rules.mode == SINGLE_WINNER and contest.seats != 1:
        raise DefinitionError("contest.seats", f"{SINGLE_WINNER} elects exactly one candidate, got {contest.seats}")
    if rules.seats > 1 and rules.mode != MULTI_PASS:
        for flag in ("continue_until_two_candidates_remain", "batch_elimination"):
            if o.get(flag):
                raise DefinitionError(f"{where}.{flag}", f"only counts one seat, or several with {MULTI_PASS}")
    if rules.seats > 1 and rules.first_round_threshold:
        raise DefinitionError(f"{where}.first_round_determines_threshold", "only counts a single seat")
    if rules.mode == BOTTOMS_UP_PERCENTAGE:
        if rules.percentage is None:
            raise DefinitionError(f"{where}.bottoms_up_percentage_threshold", f"is required by {BOTTOMS_UP_PERCENTAGE}")
        if rules.batch:
            raise DefinitionError(f"{where}.batch_elimination", f"cannot be used with {BOTTOMS_UP_PERCENTAGE}")
    for flag in ("non_integer_winning_threshold", "hare_quota"):
        if o.get(flag) and not multi_winner:
            raise DefinitionError(f"{where}.{flag}", f"needs {MULTIPLE_PER_ROUND} or {ONE_PER_ROUND}")
    if rules.non_integer_threshold and rules.hare_quota:
        raise DefinitionError(f"{where}.hare_quota", "cannot be used with non_integer_winning_threshold")
    standing = [c.id for c in contest.candidates if c.id not in rules.excluded and not c.undeclared_write_in]
    if not standing:
        raise DefinitionError(f"{where}.excluded_candidates", "every declared candidate is excluded")
    if rules.mode == MULTI_PASS and contest.seats > len(standing):
        raise DefinitionError(
            "contest.seats", f"{MULTI_PASS} elects one candidate a pass: {contest.seats} seats, {len(standing)} candidates"
        )


def _choice(options: Mapping, name: str, allowed: tuple[str, ...]) -> None:
    value = options.get(name)
    if value is not None and value not in allowed:
        raise DefinitionError(f"contest.options.{name}", f"must be one of {', '.join(allowed)}, got {value!r}")


def _integer(options: Mapping, name: str, low: int, high: int | None = None) -> None:
    value = options.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f">= {low}"
        raise DefinitionError(f"contest.options.{name}", f"must be an integer {bounds}, got {value!r}")


def _check_percentage(options: Mapping) -> None:
    value = options.get("bottoms_up_percentage_threshold")
    if value is None:
        return
    where = "contest.options.bottoms_up_percentage_threshold"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DefinitionError(where, f"must be a percentage as an integer or a decimal string, got {value!r}")
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise DefinitionError(where, f"must be a percentage as an integer or a decimal string, got {value!r}") from None
    if not percent.is_finite() or not 0 < percent <= 100:
        raise DefinitionError(where, f"must be more than 0 and at most 100, got {value!r}")
