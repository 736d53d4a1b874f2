"""RCTab's tie-break modes (`tiebreakMode`), for the `rcv` method.

A tie is decided among the tied candidates sorted by id (RCTab sorts them by name, and a contest
mapped from RCTab uses its names as ids), for a winner (the most favoured is chosen) or a loser (the
least favoured is chosen):
- `use-candidate-order`: the candidates' order in `tie_break_order` (default: the contest's order);
  the earliest listed wins a winner tie, the latest listed loses an elimination tie.
- `generate-permutation`: the same with a permutation drawn once per count: the candidate ids sorted,
  then shuffled by `Collections.shuffle` with `java.util.Random(random_seed)`.
- `random`: one draw, `floor(nextDouble() x tied)`, from a `java.util.Random(random_seed)` made at the
  start of the count and shared by every tie of that count, in order.
- `previous-round-counts-then-random` / `-then-ask`: going back one round at a time, keep the tied
  candidates with the most (winner) or fewest (loser) votes in that round; if two or more are still
  tied after round 1, draw as `random` among them (in the order Java's HashSet lists them, which is
  where RCTab draws from), or ask.
- `stop-counting-and-ask`: a person decides: an official's decision (`counting.official`), looked up in
  the contest's `tie_decisions`; without one the count stops with `TieNeedsDecision`, naming the round and
  the candidates. With `tie_break: "official"` every mode leaves to the official what it would draw or take
  from an order: `previous-round-counts-then-random` looks back first, as `-then-ask` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from .. import official
from ..java_random import JavaRandom, hash_set_order, shuffle
from ..numbers import Number
from ..outcome import TieBreak
from ..vocabulary import TieRule


class TieBreakMode(StrEnum):
    """`tie_break_mode` (RCTab's tiebreakMode)."""

    USE_CANDIDATE_ORDER = "use-candidate-order"
    GENERATE_PERMUTATION = "generate-permutation"
    RANDOM = "random"
    PREVIOUS_THEN_RANDOM = "previous-round-counts-then-random"
    PREVIOUS_THEN_ASK = "previous-round-counts-then-ask"
    ASK = "stop-counting-and-ask"


LOOKING_BACK = (TieBreakMode.PREVIOUS_THEN_RANDOM, TieBreakMode.PREVIOUS_THEN_ASK)
SEEDED_MODES = (TieBreakMode.GENERATE_PERMUTATION, TieBreakMode.RANDOM, TieBreakMode.PREVIOUS_THEN_RANDOM)

# The `rule` recorded with each tie.
RULE_ORDER = TieRule.TIE_BREAK_ORDER
RULE_PERMUTATION = TieRule.GENERATED_PERMUTATION
RULE_RANDOM = TieRule.RANDOM_DRAW
RULE_PREVIOUS = TieRule.PREVIOUS_ROUNDS


class TieBreaker:
    """The tie-break state of one count (one pass of a multi-pass count): the mode, the candidate
    order or drawn permutation, and the generator shared by every draw of the count."""

    def __init__(self, mode: str, order: Sequence[str], seed: int | None, write_in: str | None = None,
                 options: Mapping[str, object] | None = None):
        self.mode = mode
        self.options = options or {}  # the contest's: its `tie_decisions`, and whether ties go to an official
        self.pass_number: int | None = None  # the pass of a multi-pass count, which its decisions name
        self.random = JavaRandom(seed) if mode in SEEDED_MODES else None
        self.order = list(order)
        if mode == TieBreakMode.GENERATE_PERMUTATION:  # RCTab permutes its declared candidates only
            self.order = sorted(c for c in order if c != write_in)
            shuffle(self.order, self.random)
            self.order += [write_in] if write_in else []
        self.place = {c: i for i, c in enumerate(self.order)}

    def decide(
        self, tied: Sequence[str], electing: bool, round_no: int, history: Sequence[Mapping[str, Number]]
    ) -> TieBreak:
        """Choose one of `tied` to elect (`electing`) or to eliminate, in round `round_no`;
        `history` holds the tallies of the rounds before it, first round first."""
        candidates = sorted(tied)
        purpose = "elect" if electing else "eliminate"
        if self.mode == TieBreakMode.ASK or (official.official(self.options) and self.mode not in LOOKING_BACK):
            return self._ask(candidates, candidates, purpose, round_no)
        if self.mode in (TieBreakMode.USE_CANDIDATE_ORDER, TieBreakMode.GENERATE_PERMUTATION):
            ranked = sorted(candidates, key=self.place.__getitem__)
            chosen = ranked[0] if electing else ranked[-1]
            rule = RULE_ORDER if self.mode == TieBreakMode.USE_CANDIDATE_ORDER else RULE_PERMUTATION
            return TieBreak(candidates, [chosen], rule, purpose, round_no)
        if self.mode == TieBreakMode.RANDOM:
            return TieBreak(candidates, [self._draw(candidates)], RULE_RANDOM, purpose, round_no)
        remaining = _narrow_by_previous_rounds(candidates, electing, history)
        if len(remaining) == 1:
            return TieBreak(candidates, remaining, RULE_PREVIOUS, purpose, round_no)
        if self.mode == TieBreakMode.PREVIOUS_THEN_ASK or official.official(self.options):
            return self._ask(candidates, remaining, purpose, round_no)
        return TieBreak(candidates, [self._draw(remaining)], RULE_RANDOM, purpose, round_no)

    def _ask(self, candidates: list[str], remaining: Sequence[str], purpose: str, round_no: int) -> TieBreak:
        """The official's recorded decision among `remaining` (`TieNeedsDecision` when there is none)."""
        tie = official.decide(self.options, remaining, purpose, round_no, pass_number=self.pass_number)
        return TieBreak(candidates, tie.chosen, tie.rule, purpose, round_no)

    def _draw(self, candidates: Sequence[str]) -> str:
        return candidates[self.random.index_by_double(len(candidates))]


def _narrow_by_previous_rounds(
    candidates: list[str], electing: bool, history: Sequence[Mapping[str, Number]]
) -> list[str]:
    """RCTab's look-back: from the previous round back to round 1, keep those with the most (or
    fewest) votes, until one is left. Each round's survivors are listed as RCTab lists them: in the
    iteration order of a Java HashSet of the previous survivors."""
    contention = candidates
    for tallies in reversed(history):
        listed = hash_set_order(contention)
        best = (max if electing else min)(tallies[c] for c in listed)
        contention = [c for c in listed if tallies[c] == best]
        if len(contention) == 1:
            break
    return contention
