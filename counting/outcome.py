"""What a counting method decides: the type every method returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .numbers import Number, exact_json


@dataclass
class TieBreak:
    """One tie and how it was decided."""

    candidates: list[str]  # everyone tied
    chosen: list[str]  # who the rule picked (elected, eliminated, or placed above the cutoff)
    rule: str  # a `TieRule`
    purpose: str  # "elect", "eliminate" or "cutoff"
    round: int | None = None
    pass_number: int | None = None  # the pass of a multi-pass count

    def to_json(self) -> dict:
        out = {
            "round": self.round,
            "purpose": self.purpose,
            "candidates": list(self.candidates),
            "chosen": list(self.chosen),
            "rule": self.rule,
        }
        if self.pass_number is not None:
            out["pass"] = self.pass_number
        return out


@dataclass
class Transfer:
    """Where the votes of a candidate who stopped continuing went: in the round that decided it,
    to the next round (for a winner, its surplus)."""

    source: str
    to: dict[str, Number]  # candidate -> votes received (none listed that received nothing)
    exhausted: Number = 0
    residual: Number = 0  # a surplus's part that truncation kept from moving (RCTab's residual surplus)

    def to_json(self) -> dict:
        out = {
            "from": self.source,
            "to": {c: exact_json(v) for c, v in self.to.items()},
            "exhausted": exact_json(self.exhausted),
        }
        if self.residual:
            out["residual_surplus"] = exact_json(self.residual)
        return out


@dataclass
class Round:
    round: int
    tallies: dict[str, Number]  # every candidate continuing at the start of the round
    threshold: Number | None = None
    elected: list[str] = field(default_factory=list)
    eliminated: list[str] = field(default_factory=list)
    exhausted: Number = 0
    exhausted_by: dict[str, Number] = field(default_factory=dict)
    tie_breaks: list[TieBreak] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # method specifics (keep factors, exclusions, ...)
    transfers: list[Transfer] = field(default_factory=list)  # filled in as the next round is counted

    def to_json(self) -> dict:
        out = {
            "round": self.round,
            "tallies": {c: exact_json(v) for c, v in self.tallies.items()},
            "threshold": None if self.threshold is None else exact_json(self.threshold),
            "elected": list(self.elected),
            "eliminated": list(self.eliminated),
            "exhausted": exact_json(self.exhausted),
            "exhausted_by": {k: exact_json(v) for k, v in sorted(self.exhausted_by.items())},
            "tie_breaks": [t.to_json() for t in self.tie_breaks],
        }
        if self.transfers:
            out["transfers"] = [t.to_json() for t in self.transfers]
        out.update(self.details)
        return out


@dataclass
class Pass:
    """One pass of a multi-pass count (multi-pass IRV): a whole count, with its own rounds and winners."""

    number: int
    rounds: list[Round]
    winners: list[str]

    def to_json(self) -> dict:
        return {"pass": self.number, "winners": list(self.winners), "rounds": [r.to_json() for r in self.rounds]}


@dataclass
class Outcome:
    """A method's decision over the valid ballots.

    `totals` holds each candidate's total_count (final-round count for round-based methods);
    `order` ranks every candidate, winners first in order of election.
    """

    totals: dict[str, Number]
    winners: list[str]
    order: list[str]
    rounds: list[Round] = field(default_factory=list)
    ties: list[TieBreak] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quota: Number | None = None
    passes: list[Pass] = field(default_factory=list)  # multi-pass methods: one count per pass


NO_VALID_VOTES = "No valid votes: nobody is elected"


def nobody_elected(candidates: Sequence[str]) -> Outcome:
    """The outcome of a contest whose valid ballots carry no weight. Every candidate is tied at
    zero, so any winner would be chosen by a tie-break that no voter decided (and, with ties left
    to an official, one would be asked to pick among candidates nobody voted for): nobody is
    elected, no round is counted, and the candidates are listed as the contest defines them."""
    return Outcome(totals=dict.fromkeys(candidates, 0), winners=[], order=list(candidates), notes=[NO_VALID_VOTES])
