"""An area's own round-by-round counts, following its contest's decisions (RCTab's
tabulateByPrecinct): each round the area's ballots count for their highest-ranked candidate still
continuing in the contest, and whoever the contest elected or eliminated in that round leaves the
area's count too, its ballots moving on as the contest's did. An area decides nothing: its rounds
carry the contest's threshold and decisions, and the area's own tallies, inactive ballots and
transfers.

A winner's surplus moves, from each of the area's ballots on it, the share the contest's count
decided (its surplus fraction, from the contest's votes and threshold), truncated as the contest's
ballots were; what the area's ballots keep stays with the winner, uncapped, as RCTab's precinct
tallies show it. Followed for instant-runoff and rcv; not for a multi-pass count, whose passes each
start again.

"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from .ballots import Marks
from .contest import Contest
from .errors import CountingError
from .methods.irv import IrvOptions
from .methods.rcv_count import Tabulation
from .methods.rcv_rules import RcvOptions
from .numbers import Number
from .outcome import Round, Transfer
from .ranked import Compiled, Piles

FOLLOWED = ("instant-runoff", "rcv")
NOT_FOLLOWED = "per-area rounds follow instant-runoff and rcv counts, not a multi-pass count"


def followable(contest: Contest, result: dict) -> bool:
    """Whether the contest's rounds can be followed in an area (see the module's note)."""
    return contest.method in FOLLOWED and not result.get("passes") and bool(result.get("rounds"))


def follow(contest: Contest, valid: Mapping[Marks, int], result: dict) -> list[Round]:
    """The area's rounds, given its valid ballots and the contest's result JSON (`followable`)."""
    if not followable(contest, result):
        raise CountingError(NOT_FOLLOWED)
    if contest.method == "rcv":
        rules = RcvOptions.parse(contest)
        return _FollowedCount(contest, Compiled(contest.candidate_ids, valid, rules), rules, result["rounds"]).run()
    return _follow_instant_runoff(contest, valid, result["rounds"])


class _FollowedCount(Tabulation):
    """The contest's rcv count replayed on an area's ballots: the threshold, the winners, the
    eliminations and each winner's surplus fraction are the contest's round's; only the figures
    are the area's."""

    caps_winners = False

    def __init__(self, contest: Contest, ballots: Compiled, rules: RcvOptions, rounds: list[dict]):
        super().__init__(contest, ballots, rules, rules.excluded)
        self.contest_rounds = rounds

    def _now(self) -> dict:
        return self.contest_rounds[len(self.rounds)]

    def _continuing(self) -> bool:
        return len(self.rounds) < len(self.contest_rounds)

    def _recompute_threshold(self, round_no: int) -> bool:
        return True

    def _threshold(self, active: Number) -> Number:
        return _number(self._now()["threshold"])

    def _winners(self, tallies, round_no: int) -> tuple[list[str], list]:
        return list(self._now()["elected"]), []

    def _needs_elimination(self) -> bool:
        return True

    def _losers(self, tallies, round_no: int) -> tuple[list[str], list]:
        return list(self._now()["eliminated"]), []

    def _surplus_fraction(self, winner: str, votes: Number) -> Number:
        return super()._surplus_fraction(winner, _number(self._now()["tallies"][winner]))


def _follow_instant_runoff(contest: Contest, valid: Mapping[Marks, int], contest_rounds: list[dict]) -> list[Round]:
    rules = IrvOptions.parse(contest)
    ids = contest.candidate_ids
    index = {c: i for i, c in enumerate(ids)}
    first = contest_rounds[0]["tallies"]
    compiled = Compiled(ids, valid, rules)
    piles = Piles(compiled, [c in first for c in ids], compiled.weights)
    piles.start()
    rounds = []
    for contest_round in contest_rounds:
        here = Round(
            round=contest_round["round"],
            tallies={c: piles.votes[index[c]] for c in contest_round["tallies"]},
            threshold=_number(contest_round["threshold"]),
            elected=list(contest_round["elected"]),
            eliminated=list(contest_round["eliminated"]),
            exhausted=sum(piles.exhausted_by.values()),
            exhausted_by=dict(piles.exhausted_by),
        )
        leaving = here.eliminated + here.elected
        for c in leaving:
            piles.alive[index[c]] = False
        if contest_round is not contest_rounds[-1]:
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
