"""Ties an official decides: option `tie_break: "official"`.

A method breaks a tie its rules cannot settle by lot (the contest's tie order, or a seeded draw). With
`tie_break: "official"` that last resort is a person's decision instead: the count looks the tie up in option
`tie_decisions`, and when it is not there stops with `TieNeedsDecision`, which names the contest, the round, the
purpose and the tied candidates. The decision, once recorded (the pipeline keeps it as an audit event, `tally
tie decide`), is given back in `tie_decisions` and the count goes on with it: the same ballots and decisions
give the same result on any machine, and `tally verify` replays them from the audit.

A decision is `{"round": R, "purpose": P, "candidates": [tied...], "chosen": [ids...]}` (and `"pass": N` in a
multi-pass count): `round` as the tie's record gives it (null for a cut-off tie, which has no round),
`purpose` `elect`, `eliminate` or `cutoff`, `candidates` the tied candidates in any order, `chosen` those to
elect, to eliminate, or to place above the cut-off (as many as the tie needs: one, or the seats left in it).
rcv's `stop-counting-and-ask` and `previous-round-counts-then-ask` modes, RCTab's ask modes, are official ties
too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from .contest import Contest
from .errors import CountingError, DefinitionError
from .outcome import TieBreak
from .vocabulary import TieRule

T = TypeVar("T")
OFFICIAL = "official"
PURPOSES = ("elect", "eliminate", "cutoff")
ASKING_MODES = {"stop-counting-and-ask": "use-candidate-order", "previous-round-counts-then-ask": "use-candidate-order"}


@dataclass(frozen=True)
class TieDecision:
    round: int | None
    purpose: str
    candidates: frozenset[str]
    chosen: tuple[str, ...]
    pass_number: int | None = None


class TieNeedsDecision(CountingError):
    """A tie the rules leave to an official, with no decision recorded for it."""

    def __init__(self, round_no: int | None, purpose: str, candidates: Sequence[str], choose: int,
                 pass_number: int | None = None):
        self.round = round_no
        self.purpose = purpose
        self.candidates = sorted(candidates)
        self.choose = choose
        self.pass_number = pass_number
        where = "at the cut-off" if round_no is None else f"round {round_no}"
        if pass_number is not None:
            where = f"pass {pass_number}, {where}"
        verb = {"elect": "elect", "eliminate": "eliminate", "cutoff": "place above the cut-off"}[purpose]
        super().__init__(
            f"{where}: {', '.join(self.candidates)} are tied and the rules leave the tie to an official: "
            f"record who to {verb} ({choose} of them) as a tie decision"
        )

    def to_json(self) -> dict:
        out = {"round": self.round, "purpose": self.purpose, "candidates": self.candidates, "choose": self.choose}
        if self.pass_number is not None:
            out["pass"] = self.pass_number
        return out


def official(options: Mapping[str, Any]) -> bool:
    """Whether the contest leaves ties that would go by lot to an official."""
    return options.get("tie_break") == OFFICIAL


def decide(options: Mapping[str, Any], tied: Sequence[str], purpose: str, round_no: int | None, choose: int = 1,
           pass_number: int | None = None) -> TieBreak:
    """The official's decision of this tie, from `tie_decisions`; `TieNeedsDecision` when there is none."""
    wanted = frozenset(tied)
    for decision in read_decisions(options):
        if (decision.round, decision.purpose, decision.candidates, decision.pass_number) == (
                round_no, purpose, wanted, pass_number):
            if len(decision.chosen) != choose:
                raise CountingError(f"the tie decision of round {round_no} chooses {len(decision.chosen)} "
                                    f"candidate(s), the tie needs {choose}")
            return TieBreak(sorted(tied), list(decision.chosen), TieRule.OFFICIAL, purpose, round_no, pass_number)
    raise TieNeedsDecision(round_no, purpose, tied, choose, pass_number)


def deciding(count_with: Callable[[list[dict]], T], given: Sequence[tuple[int | None, str]]) -> T:
    """`count_with(decisions)`, each tie it stops at decided from `given`: (round, candidate) pairs in order, a
    tie taking as many of its round's next pairs as it needs (`tally count --tie-decision`). A tie that `given`
    does not decide is raised."""
    decisions: list[dict] = []
    left = list(given)
    while True:
        try:
            return count_with(decisions)
        except TieNeedsDecision as tie:
            mine = [i for i, (round_no, _) in enumerate(left) if round_no == tie.round][: tie.choose]
            if len(mine) < tie.choose:
                raise
            decisions.append({"round": tie.round, "purpose": tie.purpose, "candidates": tie.candidates,
                              "chosen": [left[i][1] for i in mine],
                              **({"pass": tie.pass_number} if tie.pass_number is not None else {})})
            left = [pair for i, pair in enumerate(left) if i not in mine]


def with_decisions(contest: Contest, decisions: Sequence[Mapping[str, Any]]) -> Contest:
    """The contest counted with these recorded decisions (the pipeline's and `tally verify`'s, from the audit)."""
    return replace(contest, options={**contest.options, "tie_decisions": [dict(d) for d in decisions]})


def for_areas(contest: Contest) -> Contest:
    """The contest as an area's or a subtree's count sees it. An area elects nobody, so its ties decide nothing
    and never wait for an official: they go by the tie order (rcv's ask modes by `use-candidate-order`)."""
    options = {k: v for k, v in contest.options.items() if k not in ("tie_break", "tie_decisions")}
    if options.get("tie_break_mode") in ASKING_MODES:
        options["tie_break_mode"] = ASKING_MODES[options["tie_break_mode"]]
    return contest if options == dict(contest.options) else replace(contest, options=options)


def check(options: Mapping[str, Any], candidates: Sequence[str]) -> None:
    """Refuse a `tie_break` or `tie_decisions` that cannot be used, naming the option."""
    mode = options.get("tie_break")
    if mode is not None and mode != OFFICIAL:
        raise DefinitionError("contest.options.tie_break", f"must be {OFFICIAL!r} or absent, got {mode!r}")
    read_decisions(options, set(candidates))


def read_decisions(options: Mapping[str, Any], known: set[str] | None = None) -> list[TieDecision]:
    raw = options.get("tie_decisions") or []
    where = "contest.options.tie_decisions"
    if not isinstance(raw, list):
        raise DefinitionError(where, "must be a list of decisions")
    return [_decision(item, f"{where}[{i}]", known) for i, item in enumerate(raw)]


def _decision(item: Any, where: str, known: set[str] | None) -> TieDecision:
    if not isinstance(item, Mapping):
        raise DefinitionError(where, "must be an object with round, purpose, candidates and chosen")
    round_no, pass_number = item.get("round"), item.get("pass")
    for name, value in (("round", round_no), ("pass", pass_number)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise DefinitionError(f"{where}.{name}", f"must be a positive integer or null, got {value!r}")
    purpose = item.get("purpose")
    if purpose not in PURPOSES:
        raise DefinitionError(f"{where}.purpose", f"must be one of {', '.join(PURPOSES)}, got {purpose!r}")
    lists = {}
    for name in ("candidates", "chosen"):
        value = item.get(name)
        if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
            raise DefinitionError(f"{where}.{name}", "must be a non-empty list of candidate ids")
        unknown = [c for c in value if known is not None and c not in known]
        if unknown:
            raise DefinitionError(f"{where}.{name}", f"unknown candidate(s): {', '.join(unknown)}")
        lists[name] = value
    if not set(lists["chosen"]) <= set(lists["candidates"]) or len(set(lists["chosen"])) != len(lists["chosen"]):
        raise DefinitionError(f"{where}.chosen", "must be distinct candidates of the tie")
    return TieDecision(round_no, purpose, frozenset(lists["candidates"]), tuple(lists["chosen"]), pass_number)
