"""`rcv`: ranked-choice voting counted as RCTab (the tabulator certified for US public elections)
counts it, every `winnerElectionMode` of RCTab's as the option `winner_election_mode`:
- `single-winner-majority`: instant runoff for one seat;
- `multi-winner-allow-multiple-winners-per-round` / `-only-one-winner-per-round`: RCTab's single
  transferable vote, with fractional surplus transfers to `decimal_places_for_vote_arithmetic`;
- `bottoms-up`: eliminate until as many candidates remain as seats;
- `bottoms-up-using-percentage-threshold`: eliminate until every remaining candidate holds more than
  `bottoms_up_percentage_threshold` percent of the continuing votes (seats are not counted);
- `multi-pass-irv`: one single-seat count per seat, each without the winners of the passes before.
The round loop is `rcv_count.Tabulation`, the options `rcv_rules`, the tie-break modes `rcv_ties`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..contest import Contest
from ..errors import CountingError
from ..outcome import Outcome, Pass, Round
from ..ranked import Compiled
from ..vocabulary import MarkKind
from . import Ballots, register
from .rcv_count import Tabulation
from .rcv_rules import RcvOptions, WinnerMode

CUTOFF_NOTE = "Tie detected at cutoff; resolved by {rule}"


@register("rcv", mark_kind=MarkKind.RANK, preferential=True, options=RcvOptions)
def count(contest: Contest, ballots: Ballots) -> Outcome:
    rules = RcvOptions.parse(contest)
    if rules.mode == WinnerMode.MULTI_PASS:
        return _multi_pass(contest, ballots, rules)
    rounds = Tabulation(contest, Compiled(contest.candidate_ids, ballots, rules), rules, rules.excluded).run()
    winners = [c for r in rounds for c in r.elected]
    outcome = _outcome(contest, rounds, winners, rules)
    if rules.mode in (WinnerMode.MULTIPLE_PER_ROUND, WinnerMode.ONE_PER_ROUND):
        outcome.quota = rounds[0].threshold
    return outcome


def _multi_pass(contest: Contest, ballots: Ballots, rules: RcvOptions) -> Outcome:
    """RCTab's multi-pass IRV: each pass is a single-seat count with the winners of the passes
    before excluded, its tie-breaks drawn afresh from the same seed."""
    single = _single_seat(rules)
    compiled = Compiled(contest.candidate_ids, ballots, rules)
    passes: list[Pass] = []
    winners: list[str] = []
    for number in range(1, contest.seats + 1):
        tabulation = Tabulation(contest, compiled, single, rules.excluded | set(winners))
        tabulation.ties.pass_number = number
        rounds = tabulation.run()
        elected = [c for r in rounds for c in r.elected]
        if len(elected) != 1:
            raise CountingError(
                f"pass {number} of {WinnerMode.MULTI_PASS} elected {len(elected)} candidates, not one"
            )
        winners += elected
        for r in rounds:
            for tie in r.tie_breaks:
                tie.pass_number = number
        passes.append(Pass(number, rounds, elected))
    outcome = _outcome(contest, passes[-1].rounds, winners, rules)
    for p in passes:  # each winner's count is its count in the round that elected it
        outcome.totals[p.winners[0]] = p.rounds[-1].tallies[p.winners[0]]
    outcome.rounds = []
    outcome.passes = passes
    outcome.ties = [t for p in passes for r in p.rounds for t in r.tie_breaks]
    return outcome


def _single_seat(rules: RcvOptions) -> RcvOptions:
    return replace(rules, seats=1)


def _outcome(contest: Contest, rounds: Sequence[Round], winners: list[str], rules: RcvOptions) -> Outcome:
    """Totals are the final round's tallies (0 for everyone no longer counted); the order is the
    winners in order of election, then everyone by how long they lasted, then by their last count."""
    final = rounds[-1].tallies
    place = {c: i for i, c in enumerate(rules.tie_break_order)}
    last_round = {c: r.round for r in rounds for c in r.tallies}
    last_count = {c: r.tallies[c] for r in rounds for c in r.tallies}
    others = sorted(
        (c for c in contest.candidate_ids if c not in winners),
        key=lambda c: (-last_round.get(c, 0), -last_count.get(c, 0), place[c]),
    )
    ties = [t for r in rounds for t in r.tie_breaks]
    return Outcome(
        totals={c: final.get(c, 0) for c in contest.candidate_ids},
        winners=list(winners),
        order=list(winners) + others,
        rounds=list(rounds),
        ties=ties,
        notes=[CUTOFF_NOTE.format(rule=t.rule) for t in ties if t.purpose == "elect"],
    )
