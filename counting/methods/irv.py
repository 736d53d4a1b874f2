"""Instant-runoff voting: one seat, counted in rounds, with RCTab's ballot rules as options.

Each round every valid ballot counts for its highest-ranked continuing candidate; a ballot with none
left is exhausted, and an exhausted ballot stays exhausted (as in RCTab). A candidate holding more
than half of the continuing weight wins: the threshold is `floor(continuing weight / 2) + 1`.
Otherwise, in this order:
1. undeclared write-ins holding votes are eliminated, alone, and nobody is elected in that round;
2. with `batch_elimination`, every candidate who cannot overtake the next count up goes at once;
3. else the candidate with the fewest votes goes; a tie is narrowed by earlier rounds (when
   `tie_break_look_back`), then decided by the contest's tie-break order (the least favoured goes).
When two candidates remain and tie, the tie-break decides the winner in that round (look back, then
the most favoured), so no round is ever counted with a single candidate. An undeclared write-in is
never elected; when only one other candidate is left it is elected in that round.

How a ballot moves down its ranks is set by `overvote_rule`, `duplicate_candidate_rule` and
`max_skipped_ranks`, the ballot rules every ranked method shares (`counting.ranked`). Everything
is integer arithmetic.

Speed: each distinct ballot is compiled once into the choices the count can reach (every rule that
does not depend on who is continuing is applied then), and ballots are bucketed by the candidate
they count for, so a round re-reads only the ballots of the candidates just eliminated
(`ranked.Piles`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from dataclasses import dataclass, field, replace

from .. import official
from ..contest import Contest
from ..errors import DefinitionError
from ..outcome import Outcome, Round, TieBreak, Transfer
from ..options import candidate_list, flag, option
from ..ranked import BallotRules, Compiled, Piles
from ..ranking import CUTOFF_NOTE, OFFICIAL_NOTE, ORDER_NOTE, tie_order
from ..vocabulary import MarkKind, TieRule, order_rule
from . import Ballots, register

PREVIOUS_ROUNDS = TieRule.PREVIOUS_ROUNDS
LOOK_BACK_NOTE = "Tie detected at cutoff; resolved by previous rounds"


@dataclass(frozen=True)
class IrvOptions(BallotRules):
    """instant-runoff's options: the shared ballot rules, and how candidates are eliminated
    (defaults keep the seeds' behaviour). `favour` and `order_rule` are derived from the contest."""

    batch_elimination: bool = option(False, flag)
    tie_break_look_back: bool = option(True, flag)
    tie_break_order: tuple[str, ...] = option((), candidate_list(unique=True))
    favour: Mapping[str, int] = field(default_factory=dict)  # place in the tie order, 0 = most favoured
    order_rule: TieRule = TieRule.CANDIDATE_ID_ASC  # the last-resort tie rule
    decisions: Mapping[str, Any] | None = None  # with `tie_break: "official"`: the contest's options, to look up

    def complete(self, contest: Contest) -> IrvOptions:
        favour = {c: i for i, c in enumerate(tie_order(contest))}
        decisions = contest.options if official.official(contest.options) else None
        return replace(self, favour=favour, order_rule=order_rule(contest.options), decisions=decisions)

    def check(self, contest: Contest) -> None:
        if contest.seats != 1:
            raise DefinitionError("contest.seats", f"instant-runoff elects exactly one candidate, got {contest.seats}")
        if all(c.undeclared_write_in for c in contest.candidates):
            raise DefinitionError("contest.candidates", "at least one candidate must not be an undeclared write-in")


# ---------------------------------------------------------------------------------------------
# The count's state: ballots bucketed by the candidate they count for


class _Tally:
    """Who each distinct ballot counts for (`ranked.Piles`), every candidate continuing at first."""

    def __init__(self, ids: Sequence[str], ballots: Ballots, rules: IrvOptions):
        self.ids = ids
        compiled = Compiled(ids, ballots, rules)
        self.piles = Piles(compiled, [True] * len(ids), compiled.weights)
        self.alive, self.votes = self.piles.alive, self.piles.votes
        self.piles.start()

    @property
    def exhausted_by(self) -> dict[str, int]:
        return self.piles.exhausted_by

    def eliminate(self, losers: Sequence[int]) -> list[Transfer]:
        """Take the losers out, then move each of their ballots to its next continuing choice;
        where each loser's votes went."""
        piles, ids = self.piles, self.ids
        for loser in losers:
            piles.alive[loser] = False
        transfers = []
        for loser in losers:
            gains, exhausted = piles.moved(piles.release(loser))
            transfers.append(Transfer(ids[loser], {ids[i]: v for i, v in gains.items()}, exhausted))
        return transfers


# ---------------------------------------------------------------------------------------------
# Deciding a round


def threshold(tallies: Mapping[str, int]) -> int:
    """Votes needed to win a round: more than half of the continuing weight, as RCTab computes it
    for one seat (`floor(continuing / 2) + 1`)."""
    return sum(tallies.values()) // 2 + 1


@dataclass
class _Decision:
    elected: list[str]
    eliminated: list[str]
    tie_breaks: list[TieBreak]


def _majority_winner(tallies: Mapping[str, int], threshold: int, write_ins: frozenset) -> str | None:
    """A candidate with more than half of the continuing weight wins (never a write-in)."""
    for candidate, votes in tallies.items():
        if votes >= threshold and candidate not in write_ins:
            return candidate
    return None


def _write_ins_holding_votes(tallies: Mapping[str, int], write_ins: frozenset) -> list[str]:
    """Undeclared write-ins are eliminated, alone, in any round in which they hold votes (RCTab)."""
    return [c for c, votes in tallies.items() if c in write_ins and votes > 0]


def _batch_losers(tallies: Mapping[str, int], favour: Mapping[str, int]) -> list[str]:
    """batch_elimination: walk up the continuing candidates by votes, ascending, with a running
    total of the votes seen. Whenever the running total is below the next count, everyone seen so
    far cannot overtake it even with all their votes combined: they are the batch. Candidates with
    equal counts are seen together, so a batch never splits a tie."""
    batch: list[str] = []
    seen: list[str] = []
    running = 0
    for votes in sorted(set(tallies.values())):
        if running < votes:
            batch = list(seen)
        level = [c for c, v in tallies.items() if v == votes]
        seen.extend(sorted(level, key=lambda c: -favour[c]))  # least favoured first within a count
        running += votes * len(level)
    return batch


def _narrow_by_earlier_rounds(tied: list[str], earlier: Sequence[Mapping[str, int]], fewest: bool) -> list[str]:
    """tie_break_look_back: going back one round at a time, keep the tied candidates with the
    fewest (eliminating) or most (electing) votes in that round, until one is left or the first
    round is passed."""
    pick = min if fewest else max
    for tallies in reversed(earlier):
        if len(tied) == 1:
            break
        best = pick(tallies[c] for c in tied)
        tied = [c for c in tied if tallies[c] == best]
    return tied


def _break_tie(
    tied: list[str], history: Sequence[Mapping[str, int]], rules: IrvOptions, purpose: str, round_no: int
) -> TieBreak:
    """Decide a tie (to eliminate one, or to elect one): earlier rounds first when
    `tie_break_look_back`, then the tie-break order, in which the last listed loses an
    elimination tie and the first listed wins a winner tie."""
    candidates = sorted(tied, key=rules.favour.__getitem__)
    remaining = candidates
    if rules.tie_break_look_back:
        remaining = _narrow_by_earlier_rounds(candidates, history[:-1], fewest=purpose == "eliminate")
        if len(remaining) == 1:
            return TieBreak(candidates, remaining, PREVIOUS_ROUNDS, purpose, round_no)
    if rules.decisions is not None:
        return replace(official.decide(rules.decisions, remaining, purpose, round_no), candidates=candidates)
    chosen = remaining[-1] if purpose == "eliminate" else remaining[0]
    return TieBreak(candidates, [chosen], rules.order_rule, purpose, round_no)


def _fewest(tallies: Mapping[str, int], history: Sequence[Mapping[str, int]], rules: IrvOptions, round_no: int) -> _Decision:
    """Regular elimination: the candidate with the fewest votes, a tie broken by `_break_tie`."""
    least = min(tallies.values())
    tied = [c for c, v in tallies.items() if v == least]
    if len(tied) == 1:
        return _Decision([], tied, [])
    tie = _break_tie(tied, history, rules, "eliminate", round_no)
    return _Decision([], list(tie.chosen), [tie])


def _decide(
    tallies: Mapping[str, int], history: Sequence[Mapping[str, int]], rules: IrvOptions, write_ins: frozenset, round_no: int
) -> _Decision:
    """Who is elected or eliminated at the end of a round, in the order of the rules above."""
    electable = [c for c in tallies if c not in write_ins]
    if len(electable) == 1:
        return _Decision(electable, [], [])
    holding = _write_ins_holding_votes(tallies, write_ins)
    if holding:
        return _Decision([], holding, [])
    winner = _majority_winner(tallies, threshold(tallies), write_ins)
    if winner is not None:
        return _Decision([winner], [], [])
    if len(tallies) == 2:  # two left and no majority: they tie, and the tie-break elects one
        tie = _break_tie(list(tallies), history, rules, "elect", round_no)
        return _Decision(list(tie.chosen), [], [tie])
    if rules.batch_elimination:
        batch = _batch_losers(tallies, rules.favour)
        if len(batch) >= 2:
            return _Decision([], batch, [])
    return _fewest(tallies, history, rules, round_no)


# ---------------------------------------------------------------------------------------------
# The method


@register("instant-runoff", mark_kind=MarkKind.RANK, preferential=True, options=IrvOptions)
def count(contest: Contest, ballots: Ballots) -> Outcome:
    """Count rounds until one candidate is elected; every round and every tie is recorded."""
    rules = IrvOptions.parse(contest)
    ids = contest.candidate_ids
    index = {c: i for i, c in enumerate(ids)}
    write_ins = frozenset(c.id for c in contest.candidates if c.undeclared_write_in)
    state = _Tally(ids, ballots, rules)
    rounds: list[Round] = []
    history: list[dict[str, int]] = []
    while True:
        round_no = len(rounds) + 1
        tallies = {c: state.votes[i] for i, c in enumerate(ids) if state.alive[i]}
        history.append(tallies)
        decision = _decide(tallies, history, rules, write_ins, round_no)
        rounds.append(
            Round(
                round=round_no,
                tallies=tallies,
                threshold=threshold(tallies),
                elected=decision.elected,
                eliminated=decision.eliminated,
                exhausted=sum(state.exhausted_by.values()),
                exhausted_by=dict(state.exhausted_by),
                tie_breaks=decision.tie_breaks,
            )
        )
        if decision.elected:
            break
        rounds[-1].transfers = state.eliminate([index[c] for c in decision.eliminated])
    return _outcome(ids, rounds, rules)


def _outcome(ids: Sequence[str], rounds: list[Round], rules: IrvOptions) -> Outcome:
    """Totals are the final round's counts (0 for the eliminated); the order is the winner, then
    everyone by how long they lasted, then by their count in their last round, then tie order."""
    final = rounds[-1]
    winner = final.elected[0]
    favour = rules.favour
    last_round = {c: r.round for r in rounds for c in r.tallies}
    last_count = {c: r.tallies[c] for r in rounds for c in r.tallies}
    others = sorted((c for c in ids if c != winner), key=lambda c: (-last_round[c], -last_count[c], favour[c]))
    ties = [t for r in rounds for t in r.tie_breaks]
    notes = [_cutoff_note(t.rule) for t in final.tie_breaks if t.purpose == "elect"]
    return Outcome(
        totals={c: final.tallies.get(c, 0) for c in ids},
        winners=[winner],
        order=[winner] + others,
        rounds=rounds,
        ties=ties,
        notes=notes,
    )


def _cutoff_note(rule: str) -> str:
    """A winner decided by a tie-break is a tie at the seat cutoff: the contest's notes say so."""
    return {PREVIOUS_ROUNDS: LOOK_BACK_NOTE, TieRule.TIE_BREAK_ORDER: ORDER_NOTE,
            TieRule.OFFICIAL: OFFICIAL_NOTE}.get(rule, CUTOFF_NOTE)
