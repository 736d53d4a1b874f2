"""The engine's vocabulary as types: every value a definition, a round or a stored row may hold.

Each is a `StrEnum`, so a member is the very string the contract names ("process-ballots-all",
"tie-break-order", ...): it compares equal to it, and it is written to JSON, the database and the
public files as exactly that string. A value read from a definition is compared with the members,
never spelled out again.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class TallyOperation(StrEnum):
    """A contest's or area's `tally_operation` (counting.md, "tally_operation")."""

    PROCESS_BALLOTS_ALL = "process-ballots-all"
    AGGREGATE_RESULTS = "aggregate-results"
    SKIP_CANDIDATE_RESULTS = "skip-candidate-results"


class MarkKind(StrEnum):
    """What a mark's value means; each kind's validation and stored form is in `counting.mark_kinds`."""

    CHECK = "check"  # one mark per candidate, value 1 (plurality, approval)
    POINTS = "points"  # value 1..checks per candidate (cumulative)
    RANK = "rank"  # value = rank, 1 first (instant-runoff, STV, Borda...)
    PAIR = "pair"  # value = the loser's id: (winner, loser) (pairwise-beta)


class TieRule(StrEnum):
    """The rule recorded with each tie (`TieBreak.rule`): the one that decided it."""

    TIE_BREAK_ORDER = "tie-break-order"  # the contest's `tie_break_order` option
    CANDIDATE_ID_ASC = "candidate-id-asc"  # no `tie_break_order`: candidate ids ascending
    PREVIOUS_ROUNDS = "previous-rounds"  # instant-runoff's and rcv's look-back
    PREVIOUS_PASS = "previous-pass"  # Meek STV's rules, in the order they apply
    CURRENT_TOTALS = "current-totals"
    FIRST_PREFERENCES = "first-preferences"
    TIE_BREAK_KEY = "tie-break-key"
    GENERATED_PERMUTATION = "generated-permutation"  # rcv's seeded modes
    RANDOM_DRAW = "random-draw"
    OFFICIAL = "official-decision"  # `tie_break: "official"`: an official's recorded decision (counting.official)


def order_rule(options: Mapping[str, Any]) -> TieRule:
    """The last-resort tie rule of a contest: its `tie_break_order` when it lists any candidate,
    else candidate ids ascending (the admin API seed's "resolved by candidateId ASC")."""
    return TieRule.TIE_BREAK_ORDER if options.get("tie_break_order") else TieRule.CANDIDATE_ID_ASC


# The rule that turns an overvote or a repeated candidate into an invalid ballot: the default of
# both `overvote_rule` and `duplicate_candidate_rule`, and the only one most methods accept.
INVALIDATE = "invalidate-ballot"


class OvervoteRule(StrEnum):
    """`overvote_rule`: what two or more candidates at one rank do (counting.md, instant-runoff)."""

    INVALIDATE_BALLOT = INVALIDATE
    EXHAUST_IMMEDIATELY = "exhaust-immediately"
    ALWAYS_SKIP_TO_NEXT_RANK = "always-skip-to-next-rank"
    EXHAUST_IF_MULTIPLE_CONTINUING = "exhaust-if-multiple-continuing"


class DuplicateRule(StrEnum):
    """`duplicate_candidate_rule`: what a candidate ranked twice does."""

    INVALIDATE_BALLOT = INVALIDATE
    SKIP = "skip"
    EXHAUST = "exhaust"


class Exhausted(StrEnum):
    """Why a ballot became inactive in a round-based count (a round's `exhausted_by` keys)."""

    NO_MORE_CHOICES = "no-more-choices"
    OVERVOTE = "overvote"
    SKIPPED_RANKS = "skipped-ranks"
    REPEATED_CANDIDATE = "repeated-candidate"
    FINAL_ROUND_SURPLUS = "final-round-surplus"
