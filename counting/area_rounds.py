"""An area's own round-by-round counts, following its contest's decisions (RCTab's
tabulateByPrecinct): each round the area's ballots count for their highest-ranked candidate still
continuing in the contest, and whoever the contest elected or eliminated in that round leaves the
area's count too, its ballots moving on as the contest's did. An area decides nothing: its rounds
carry the contest's threshold and decisions, and the area's own tallies, inactive ballots and
transfers.

Followed for rounds whose ballots all count whole (instant-runoff; rcv without surplus transfers):
a surplus moves fractions of ballots decided by the whole contest's counts, which no area's rounds
can show on their own."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from .ballots import Marks
from .contest import Contest
from .errors import CountingError
from .methods.irv import IrvOptions
from .methods.rcv_rules import RcvOptions
from .outcome import Round, Transfer
from .ranked import Compiled, Piles

FOLLOWED = {"instant-runoff": IrvOptions, "rcv": RcvOptions}
NOT_FOLLOWED = "per-area rounds follow whole-ballot counts (instant-runoff, rcv without surplus transfers)"


def followable(contest: Contest, result: dict) -> bool:
    """Whether the contest's rounds can be followed in an area (see the module's note)."""
    if contest.method not in FOLLOWED or result.get("passes") or not result.get("rounds"):
        return False
    return not any(r.get("residual_surplus") not in (None, 0) or r["elected"] and contest.seats > 1
                   for r in result["rounds"])


def follow(contest: Contest, valid: Mapping[Marks, int], result: dict) -> list[Round]:
    """The area's rounds, given its valid ballots and the contest's result JSON (`followable`)."""
    if not followable(contest, result):
        raise CountingError(NOT_FOLLOWED)
    rules = FOLLOWED[contest.method].parse(contest)
    ids = contest.candidate_ids
    index = {c: i for i, c in enumerate(ids)}
    first = result["rounds"][0]["tallies"]
    compiled = Compiled(ids, valid, rules)
    piles = Piles(compiled, [c in first for c in ids], compiled.weights)
    piles.start()
    keeps_winners = bool(getattr(rules, "continue_until_two", False))
    rounds = []
    for contest_round in result["rounds"]:
        here = Round(
            round=contest_round["round"],
            tallies={c: piles.votes[index[c]] for c in contest_round["tallies"]},
            threshold=_number(contest_round["threshold"]),
            elected=list(contest_round["elected"]),
            eliminated=list(contest_round["eliminated"]),
            exhausted=sum(piles.exhausted_by.values()),
            exhausted_by=dict(piles.exhausted_by),
        )
        leaving = here.eliminated + ([] if keeps_winners else here.elected)
        for c in leaving:
            piles.alive[index[c]] = False
        if contest_round is not result["rounds"][-1]:
            for c in leaving:
                gains, exhausted = piles.moved(piles.release(index[c]))
                here.transfers.append(Transfer(c, {ids[i]: v for i, v in gains.items()}, exhausted))
        rounds.append(here)
    return rounds


def _number(value):
    return value if value is None or isinstance(value, int) else Fraction(value)


def followed_rounds(contest: Contest, valid: Mapping[Marks, int], result: dict) -> list[dict] | None:
    """`follow` as JSON, or None where the contest's rounds cannot be followed: what the pipeline and
    `tally verify` publish as an area's (or subtree's) `followed_rounds`."""
    return [r.to_json() for r in follow(contest, valid, result)] if followable(contest, result) else None
