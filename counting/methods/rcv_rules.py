"""The options of the `rcv` method, read and checked once: RCTab's rules under the interchange's names.

Every option is named after RCTab's configuration field (`winnerElectionMode` -> `winner_election_mode`,
values in kebab case), so an RCTab configuration maps onto a contest one field at a time. The ballot
rules (`overvote_rule`, `duplicate_candidate_rule`, `max_skipped_ranks`) are every ranked method's
(`counting.ranked`); `batch_elimination` and `tie_break_order` mean what they mean for instant-runoff.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from ..contest import Contest
from ..errors import DefinitionError
from ..options import candidate_list, choice, flag, integer, option
from ..ranked import BallotRules
from .rcv_ties import SEEDED_MODES, TieBreakMode


class WinnerMode(StrEnum):
    """`winner_election_mode` (RCTab's winnerElectionMode)."""

    SINGLE_WINNER = "single-winner-majority"
    MULTIPLE_PER_ROUND = "multi-winner-allow-multiple-winners-per-round"
    ONE_PER_ROUND = "multi-winner-allow-only-one-winner-per-round"
    BOTTOMS_UP = "bottoms-up"
    BOTTOMS_UP_PERCENTAGE = "bottoms-up-using-percentage-threshold"
    MULTI_PASS = "multi-pass-irv"


MAX_DECIMAL_PLACES = 20  # RCTab's bounds for decimalPlacesForVoteArithmetic
JAVA_LONG = 1 << 63  # random_seed is a Java long


def _percentage(where: str, value: Any, contest: Contest) -> Fraction:
    """`bottoms_up_percentage_threshold`: a percentage (e.g. 15 or "12.5"), kept as a fraction of 1."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DefinitionError(where, f"must be a percentage as an integer or a decimal string, got {value!r}")
    try:
        percent = Decimal(str(value))
    except InvalidOperation:
        raise DefinitionError(where, f"must be a percentage as an integer or a decimal string, got {value!r}") from None
    if not percent.is_finite() or not 0 < percent <= 100:
        raise DefinitionError(where, f"must be more than 0 and at most 100, got {value!r}")
    return Fraction(percent) / 100


def _excluded(where: str, value: Any, contest: Contest) -> frozenset[str]:
    return frozenset(candidate_list()(where, value, contest))


@dataclass(frozen=True)
class RcvOptions(BallotRules):
    """rcv's options (the shared ballot rules, then RCTab's), each field reading the option named."""

    mode: WinnerMode = option(WinnerMode.SINGLE_WINNER, choice(WinnerMode), name="winner_election_mode")
    places: int = option(4, integer(1, MAX_DECIMAL_PLACES), name="decimal_places_for_vote_arithmetic")
    non_integer_threshold: bool = option(False, flag, name="non_integer_winning_threshold")
    hare_quota: bool = option(False, flag)
    percentage: Fraction | None = option(None, _percentage, name="bottoms_up_percentage_threshold")
    cutoff: bool = option(False, flag, name="cutoff_elimination")
    continue_until_two: bool = option(False, flag, name="continue_until_two_candidates_remain")
    first_round_threshold: bool = option(False, flag, name="first_round_determines_threshold")
    stop_after: int | None = option(None, integer(1), name="stop_tabulation_early_after_round")
    excluded: frozenset[str] = option(frozenset(), _excluded, name="excluded_candidates")
    minimum: int = option(0, integer(0), name="minimum_vote_threshold")
    batch: bool = option(False, flag, name="batch_elimination")
    tie_break_mode: TieBreakMode = option(TieBreakMode.USE_CANDIDATE_ORDER, choice(TieBreakMode))
    tie_break_order: tuple[str, ...] = option((), candidate_list(unique=True))  # completed: every candidate
    seed: int | None = option(None, integer(-JAVA_LONG, JAVA_LONG - 1), name="random_seed")
    seats: int = 0  # RCTab's numberOfWinners: the contest's seats, 0 in the percentage-threshold mode

    @property
    def uses_surpluses(self) -> bool:
        """Winners' surpluses transfer in every multi-seat mode but bottoms-up (RCTab's rule)."""
        return self.seats > 1 and self.mode not in (WinnerMode.BOTTOMS_UP, WinnerMode.MULTI_PASS)

    def complete(self, contest: Contest) -> RcvOptions:
        order = self.tie_break_order or contest.candidate_ids
        return replace(
            self,
            seats=0 if self.mode == WinnerMode.BOTTOMS_UP_PERCENTAGE else contest.seats,
            tie_break_order=tuple(order) + tuple(c for c in contest.candidate_ids if c not in order),
        )

    def check(self, contest: Contest) -> None:
        """Refuse combinations that cannot be counted, naming the field (RCTab's own refusals included)."""
        _check_mode(self, contest)
        _check_thresholds(self)
        _check_candidates(self, contest)


def _check_mode(rules: RcvOptions, contest: Contest) -> None:
    where = "contest.options"
    if rules.tie_break_mode in SEEDED_MODES and rules.seed is None:
        raise DefinitionError(f"{where}.random_seed", f"is required by tie_break_mode {rules.tie_break_mode.value!r}")
    if rules.mode == WinnerMode.SINGLE_WINNER and contest.seats != 1:
        raise DefinitionError(
            "contest.seats", f"{WinnerMode.SINGLE_WINNER} elects exactly one candidate, got {contest.seats}"
        )
    if rules.seats > 1 and rules.mode != WinnerMode.MULTI_PASS:
        for name, value in (("continue_until_two_candidates_remain", rules.continue_until_two), ("batch_elimination", rules.batch)):
            if value:
                raise DefinitionError(f"{where}.{name}", f"only counts one seat, or several with {WinnerMode.MULTI_PASS}")
    if rules.seats > 1 and rules.first_round_threshold:
        raise DefinitionError(f"{where}.first_round_determines_threshold", "only counts a single seat")
    if rules.mode == WinnerMode.BOTTOMS_UP_PERCENTAGE:
        if rules.percentage is None:
            raise DefinitionError(
                f"{where}.bottoms_up_percentage_threshold", f"is required by {WinnerMode.BOTTOMS_UP_PERCENTAGE}"
            )
        if rules.batch:
            raise DefinitionError(f"{where}.batch_elimination", f"cannot be used with {WinnerMode.BOTTOMS_UP_PERCENTAGE}")


def _check_thresholds(rules: RcvOptions) -> None:
    where = "contest.options"
    multi_winner = rules.mode in (WinnerMode.MULTIPLE_PER_ROUND, WinnerMode.ONE_PER_ROUND)
    for name, value in (("non_integer_winning_threshold", rules.non_integer_threshold), ("hare_quota", rules.hare_quota)):
        if value and not multi_winner:
            raise DefinitionError(f"{where}.{name}", f"needs {WinnerMode.MULTIPLE_PER_ROUND} or {WinnerMode.ONE_PER_ROUND}")
    if rules.non_integer_threshold and rules.hare_quota:
        raise DefinitionError(f"{where}.hare_quota", "cannot be used with non_integer_winning_threshold")


def _check_candidates(rules: RcvOptions, contest: Contest) -> None:
    where = "contest.options"
    standing = [c.id for c in contest.candidates if c.id not in rules.excluded and not c.undeclared_write_in]
    if not standing:
        raise DefinitionError(f"{where}.excluded_candidates", "every declared candidate is excluded")
    if rules.mode == WinnerMode.MULTI_PASS and contest.seats > len(standing):
        raise DefinitionError(
            "contest.seats",
            f"{WinnerMode.MULTI_PASS} elects one candidate a pass: {contest.seats} seats, {len(standing)} candidates",
        )

