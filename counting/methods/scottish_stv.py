"""Scottish STV (`scottish-stv`): the count of Scottish council elections, as The Scottish Local Government
Elections Order 2007 (SSI 2007/42), Schedule 1, rules 45 to 52, lays it down.

The rules, each cited where the code applies it:
- Rule 45: the first stage counts each valid paper for its first preference, at a value of one.
- Rule 46: the quota is the valid papers divided by the seats plus one, "ignoring any decimal places",
  increased by one: `floor(valid / (seats + 1)) + 1`.
- Rule 47: a candidate whose votes, at any stage, equal or exceed the quota is deemed elected.
- Rule 48: while vacancies remain, the surplus (votes over the quota) of an elected candidate is transferred by
  passing on every paper the candidate holds (the weighted inclusive Gregory method): each paper to its next
  available preference, at the value `surplus x the paper's value / the candidate's votes`, "the calculation
  being made to five decimal places (any remainder being ignored)". Papers with no next available preference
  are set aside as non-transferable. The candidate keeps the quota.
- Rule 49: one surplus per stage, the highest first; equal surpluses: the candidate with the most votes "at the
  end of the most recent preceding stage at which they had unequal numbers of votes" goes first; equal at
  every stage: by lot.
- Rule 50: when no surplus is left to transfer and vacancies remain, the candidate with the then lowest votes is
  excluded and all its papers pass on at the values they came with, in that one stage.
- Rule 51: a tie for lowest: the candidate with the fewest votes "at the end of the most recently preceding
  stage of the count at which they had an unequal number of votes" is excluded; equal at every stage: by lot.
- Rule 52: when the continuing candidates are as many as the vacancies left, they are deemed elected and no
  further transfer is made.

What the rules leave open, and what is done here (docs/interchange.md, scottish-stv, says the same):
- Values are whole numbers of hundred-thousandths of a vote (integers), so every transfer value is cut to five
  places exactly as rule 48(3) says, and nothing else is ever rounded.
- A stage is its whole operation: an exclusion stage moves the excluded candidate's papers, and rule 52 is
  applied at the end of a stage (after its transfer), as the published count sheets show it.
- A non-transferable paper of a surplus is set aside at the value it would have carried; what the five-place
  cut keeps from moving is the round's `residual_surplus` (a running total), so that in every round the
  tallies, the non-transferable papers and the residual add up to the valid votes.
- "Had unequal numbers of votes", for three or more tied candidates: the most recent preceding stage at which
  they were not all equal decides among them; those still level there (two sharing the lowest, say) are
  compared again at the stages before it, the rule read once more for them; level at every stage: lot.
- Several candidates elected at one stage are listed in order of their votes; equal votes as rule 49(2), then
  the contest's tie order (a listing decides nothing, so no lot is drawn for it).
- The lot is the project's deterministic one: the contest's tie order (`tie_break_order`, else candidate ids
  ascending; the least favoured is excluded, the most favoured goes first), or, with `random_seed`, a draw of
  `java.util.Random(random_seed)` among the tied sorted by id, as rcv's `random` mode draws.
- An undeclared write-in cannot be elected: it is excluded before the first stage (its papers count for their
  next preference). Fewer candidates than seats: all are elected and the other seats stay vacant.

Each stage is one `Round`: round 1 the first preferences, then one per surplus transfer or exclusion. Its
`tallies` are the votes after the stage of every candidate not excluded before it (elected ones included, at
the quota once their surplus has gone), its `threshold` the quota, `eliminated` the candidate excluded in it,
`elected` those deemed elected at its end, `exhausted` the non-transferable papers so far, and `transfers` the
stage's own transfer. Its details: `stage` (`first-preferences`, `surplus`, `exclusion`), `transferred_from`,
`surplus` (the surplus transferred, or null), `non_transferable` (set aside in this stage), `residual_surplus`
and `elected_by` (candidate -> `quota` or `last-vacancies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from numbers import Rational

from .. import official
from ..contest import Contest
from ..errors import DefinitionError
from ..java_random import JavaRandom
from ..numbers import Number, exact_json
from ..options import as_given, integer, option, refuse_options_of
from ..outcome import Outcome, Round, TieBreak, Transfer
from ..ranked import BallotRules, Compiled, Piles
from ..ranking import tie_order
from ..vocabulary import MarkKind, TieRule, order_rule
from . import Ballots, register
from .irv import IrvOptions

PLACES = 5  # rule 48(3): "the calculation being made to five decimal places (any remainder being ignored)"
UNIT = 10**PLACES  # one vote, in the count's integers (hundred-thousandths of a vote)

FIRST_PREFERENCES = "first-preferences"
SURPLUS = "surplus"
EXCLUSION = "exclusion"
BY_QUOTA = "quota"
BY_LAST_VACANCIES = "last-vacancies"
ELECT = "elect"
ELIMINATE = "eliminate"

CONTINUING = "continuing"
ELECTED = "elected"
EXCLUDED = "excluded"


@dataclass(frozen=True)
class ScottishOptions(BallotRules):
    """scottish-stv's options: how a ranked ballot is read (the shared ballot rules: the default makes a
    ballot with two candidates at one rank invalid), the tie order a lot follows, and a seed to draw lots with
    instead."""

    tie_break_order: object = option(None, as_given)
    random_seed: int | None = option(None, integer(-(2**63), 2**63 - 1))

    def check(self, contest: Contest) -> None:
        if contest.exclusion_groups:
            raise DefinitionError("contest.exclusion_groups", "scottish-stv has no exclusion groups (remove them)")
        why = "is an instant-runoff option; scottish-stv excludes one candidate a stage as rule 50 says"
        refuse_options_of(contest, IrvOptions, ScottishOptions, why)


def droop_quota(valid: int, seats: int) -> int:
    """Rule 46: valid papers over seats + 1, ignoring any decimal places, increased by one."""
    return valid // (seats + 1) + 1


def votes(units: int) -> Decimal:
    """A count of hundred-thousandths as the exact Decimal of five places the count sheet shows."""
    sign, digits = (1 if units < 0 else 0), tuple(int(d) for d in str(abs(units)))
    return Decimal((sign, digits, -PLACES))


def sheet_figure(value: Number) -> str:
    """A figure as the count sheets print it: five decimal places ("1449.41637", "1703.00000"), exact for
    every value this method produces (whole hundred-thousandths)."""
    if isinstance(value, Rational):
        scaled = value * UNIT
        if scaled.denominator != 1:
            raise ValueError(f"{value} is not a whole number of hundred-thousandths")
        return format(votes(int(scaled)), "f")
    return format(Decimal(value).quantize(Decimal(1).scaleb(-PLACES)), "f")


@register("scottish-stv", mark_kind=MarkKind.RANK, preferential=True, options=ScottishOptions)
def scottish_stv(contest: Contest, ballots: Ballots) -> Outcome:
    """Count `seats` winners as Scottish council elections are counted (SSI 2007/42, Sch. 1, rules 45-52)."""
    return ScottishCount(contest, ballots, ScottishOptions.parse(contest)).run()


class ScottishCount:
    """One count in progress: the papers in their piles, each candidate's state, the record of every stage."""

    def __init__(self, contest: Contest, ballots: Ballots, rules: ScottishOptions):
        self.contest = contest
        self.ids = list(contest.candidate_ids)
        self.index = {c: i for i, c in enumerate(self.ids)}
        compiled = Compiled(self.ids, ballots, rules)
        self.weights = compiled.weights
        self.value = [UNIT] * len(self.weights)  # each paper's value, rule 48(4): one, until a surplus moves it
        self.alive = [True] * len(self.ids)  # who papers may move to: the continuing candidates
        self.piles = Piles(compiled, self.alive, [w * UNIT for w in self.weights])
        self.quota = droop_quota(sum(self.weights), contest.seats)  # rules 45(3) and 46
        self.status = dict.fromkeys(self.ids, CONTINUING)
        self.kept: dict[str, int] = {}  # an elected candidate whose surplus has moved keeps the quota
        self.elected: list[str] = []
        self.excluded: list[str] = []
        self.residual = 0  # what five-place cuts kept from moving, in units
        self.history: list[dict[str, int]] = []  # every candidate's votes at the end of each stage, in units
        self.rounds: list[Round] = []
        self.ties: list[TieBreak] = []
        self.notes: list[str] = []
        favour = tie_order(contest)  # most favoured first
        self.favour = {c: len(favour) - i for i, c in enumerate(favour)}  # most favoured = highest
        self.lot_rule = TieRule.RANDOM_DRAW if rules.random_seed is not None else order_rule(contest.options)
        self.random = JavaRandom(rules.random_seed) if rules.random_seed is not None else None

    # ------------------------------------------------------------------ the count

    def run(self) -> Outcome:
        """Stage after stage until every vacancy is filled (rules 47 and 52) or nobody is left to elect."""
        self.exclude_write_ins()
        self.piles.start()  # rule 45: the first stage
        self.close_stage(FIRST_PREFERENCES, None, None, None)
        while self.vacancies() and self.continuing():
            surplus = self.next_surplus()
            if surplus is not None:
                self.transfer_surplus(*surplus)
            else:
                self.exclude_lowest()
        if self.vacancies():
            self.notes.append(f"{self.vacancies()} seat(s) left vacant: no candidate is left to elect")
        return self.outcome()

    def exclude_write_ins(self) -> None:
        """An undeclared write-in (the pool of write-ins nobody declared) can never be elected: it is excluded
        before the first stage, so its papers count for their next preferences."""
        pool = [c.id for c in self.contest.candidates if c.undeclared_write_in]
        for candidate in pool:
            self.status[candidate] = EXCLUDED
            self.alive[self.index[candidate]] = False
            self.excluded.append(candidate)
        if pool:
            self.notes.append(f"Undeclared write-ins cannot be elected; excluded before the count: {', '.join(pool)}")

    def next_surplus(self) -> tuple[str, TieBreak | None] | None:
        """Rule 49(1): of the elected candidates whose votes exceed the quota, the one with the highest surplus,
        and the tie that chose it (rules 49(2) and (3)), if any. None when no surplus is left (rule 50(1))."""
        quota = self.quota * UNIT
        pending = [c for c in self.elected if c not in self.kept and self.credited(c) > quota]
        if not pending:
            return None
        highest = max(self.credited(c) for c in pending)
        tied = [c for c in pending if self.credited(c) == highest]
        if len(tied) == 1:
            return tied[0], None
        tie = self.break_tie(tied, ELECT, len(self.rounds) + 1)
        return tie.chosen[0], tie

    def transfer_surplus(self, candidate: str, tie: TieBreak | None) -> Round:
        """Rule 48: every paper the candidate holds passes on at `surplus x its value / the candidate's votes`,
        cut to five places (in units: `surplus x value // votes`); the candidate keeps the quota."""
        total = self.credited(candidate)
        surplus = total - self.quota * UNIT
        papers = self.piles.release(self.index[candidate])
        worth = self.piles.worth
        for b in papers:
            self.value[b] = surplus * self.value[b] // total
            worth[b] = self.weights[b] * self.value[b]
        gains, set_aside = self.piles.moved(papers)
        self.kept[candidate] = self.quota * UNIT
        residual = surplus - sum(gains.values()) - set_aside
        return self.close_stage(SURPLUS, candidate, (gains, set_aside, residual), surplus, tie)

    def exclude_lowest(self) -> Round:
        """Rule 50: the continuing candidate with the then lowest votes is excluded; all its papers pass on at
        the values they came with (rule 50(4)), in this one stage. A tie for lowest: rule 51(2)."""
        candidates = self.continuing()
        fewest = min(self.credited(c) for c in candidates)
        tied = [c for c in candidates if self.credited(c) == fewest]
        tie = None if len(tied) == 1 else self.break_tie(tied, ELIMINATE, len(self.rounds) + 1)
        loser = tied[0] if tie is None else tie.chosen[0]
        self.status[loser] = EXCLUDED
        self.excluded.append(loser)
        gains, set_aside = self.piles.moved(self.piles.release(self.index[loser]))
        return self.close_stage(EXCLUSION, loser, (gains, set_aside, 0), None, tie)

    # ------------------------------------------------------------------ the end of a stage

    def close_stage(self, kind: str, source: str | None, moved, surplus: int | None, tie=None) -> Round:
        """Record the stage, then elect: rule 47 (the quota reached), then rule 52 (the last vacancies).
        `moved` is the stage's transfer: (gains by candidate index, set aside, residual), in units."""
        self.history.append({c: self.credited(c) for c in self.ids})
        excluded_now = source if kind == EXCLUSION else None
        record = Round(round=len(self.rounds) + 1, tallies=self.tallies(excluded_now), threshold=self.quota)
        if tie is not None:
            record.tie_breaks.append(tie)
        if excluded_now is not None:
            record.eliminated.append(excluded_now)
        gains, set_aside, residual = moved or ({}, 0, 0)
        self.residual += residual
        if moved:
            to = {self.ids[i]: votes(v) for i, v in sorted(gains.items()) if v}
            record.transfers.append(Transfer(source, to, votes(set_aside), votes(residual)))
        exhausted = self.piles.exhausted_by
        record.exhausted = votes(sum(exhausted.values()))
        record.exhausted_by = {reason: votes(v) for reason, v in exhausted.items() if v}
        elected_by: dict[str, str] = {}
        self.rounds.append(record)
        self.elect_reaching_quota(record, elected_by)
        self.fill_last_vacancies(record, elected_by)
        record.details = {
            "stage": kind,
            "transferred_from": source,
            "surplus": None if surplus is None else exact_json(votes(surplus)),
            "non_transferable": exact_json(votes(set_aside)),
            "residual_surplus": exact_json(votes(self.residual)),
            "elected_by": elected_by,
        }
        return record

    def elect_reaching_quota(self, record: Round, elected_by: dict[str, str]) -> None:
        """Rule 47(1): every continuing candidate whose votes equal or exceed the quota is deemed elected, in
        order of their votes (ties as rule 49). A Droop quota cannot be reached by more than the vacancies."""
        quota = self.quota * UNIT
        reaching = [c for c in self.continuing() if self.credited(c) >= quota]
        for candidate in self.rank(reaching, ELECT, record):
            if self.vacancies():
                self.elect(candidate, record)
                elected_by[candidate] = BY_QUOTA

    def fill_last_vacancies(self, record: Round, elected_by: dict[str, str]) -> None:
        """Rule 52: when the continuing candidates are no more than the vacancies left, they are all deemed
        elected (in order of their votes) and no further transfer is made: the count ends with this stage."""
        continuing = self.continuing()
        if continuing and len(continuing) <= self.vacancies():
            for candidate in self.rank(continuing, ELECT, record):
                self.elect(candidate, record)
                elected_by[candidate] = BY_LAST_VACANCIES

    def elect(self, candidate: str, record: Round) -> None:
        self.status[candidate] = ELECTED
        self.alive[self.index[candidate]] = False  # no paper moves to an elected candidate
        self.elected.append(candidate)
        record.elected.append(candidate)

    # ------------------------------------------------------------------ ties (rules 49(2)-(3) and 51(2))

    def rank(self, candidates: Sequence[str], purpose: str, record: Round) -> list[str]:
        """Candidates elected at one stage, listed by their votes, highest first; equal votes as rule 49(2),
        then the contest's tie order (a listing decides nothing, so no lot is drawn for it), recorded."""
        rest = list(candidates)
        order = []
        while rest:
            top = max(self.credited(c) for c in rest)
            tied = [c for c in rest if self.credited(c) == top]
            chosen = tied[0]
            if len(tied) > 1:
                tie = self.break_tie(tied, purpose, record.round, draw=False)
                record.tie_breaks.append(tie)
                chosen = tie.chosen[0]
            order.append(chosen)
            rest.remove(chosen)
        return order

    def break_tie(self, tied: list[str], purpose: str, round_no: int, draw: bool = True) -> TieBreak:
        """Rules 49(2) and 51(2): the votes "at the end of the most recent preceding stage" at which the tied
        candidates had unequal votes decide: the highest goes first (a surplus), the lowest is excluded. Those
        still level there are compared at the stages before it. Level at every stage: by lot (49(3), 51(2)(b)).

        They are level at the end of the last stage recorded, the one decided on: the look-back starts at the
        stage before it."""
        extreme = max if purpose == ELECT else min
        remaining = list(tied)
        rule = self.lot_rule if draw else order_rule(self.contest.options)
        for stage in reversed(self.history[:-1]):
            best = extreme(stage[c] for c in remaining)
            remaining = [c for c in remaining if stage[c] == best]
            if len(remaining) == 1:
                rule = TieRule.PREVIOUS_ROUNDS
                break
        listed = sorted(tied, key=self.index.__getitem__)
        if len(remaining) > 1 and draw and official.official(self.contest.options):
            tie = replace(official.decide(self.contest.options, remaining, purpose, round_no), candidates=listed)
            self.ties.append(tie)
            return tie
        chosen = remaining[0] if len(remaining) == 1 else self.lot(remaining, purpose, draw)
        tie = TieBreak(listed, [chosen], rule, purpose, round_no)
        self.ties.append(tie)
        return tie

    def lot(self, tied: list[str], purpose: str, draw: bool) -> str:
        """The lot: a seeded draw among the tied sorted by id, or else the contest's tie order (the most
        favoured goes first, the least favoured is excluded)."""
        if draw and self.random is not None:
            ordered = sorted(tied)
            return ordered[self.random.index_by_double(len(ordered))]
        return (max if purpose == ELECT else min)(tied, key=self.favour.__getitem__)

    # ------------------------------------------------------------------ state

    def credited(self, candidate: str) -> int:
        """The votes credited to a candidate now, in units: the quota once its surplus has moved, 0 once
        excluded, else what its papers are worth."""
        if candidate in self.kept:
            return self.kept[candidate]
        if self.status[candidate] == EXCLUDED:
            return 0
        return self.piles.votes[self.index[candidate]]

    def tallies(self, excluded_now: str | None) -> dict[str, Decimal]:
        """Every candidate not excluded before this stage; the one excluded in it shows 0, as the sheets do."""
        return {
            c: votes(self.credited(c)) for c in self.ids if self.status[c] != EXCLUDED or c == excluded_now
        }

    def continuing(self) -> list[str]:
        return [c for c in self.ids if self.status[c] == CONTINUING]

    def vacancies(self) -> int:
        return self.contest.seats - len(self.elected)

    def outcome(self) -> Outcome:
        """Winners in order of election; then the candidates still continuing by their votes; then the
        excluded, the last excluded first."""
        totals = {c: votes(self.credited(c)) for c in self.ids}
        waiting = sorted(self.continuing(), key=lambda c: (-self.credited(c), -self.favour[c]))
        order = self.elected + waiting + list(reversed(self.excluded))
        return Outcome(
            totals=totals,
            winners=list(self.elected),
            order=order,
            rounds=self.rounds,
            ties=self.ties,
            notes=self.notes,
            quota=self.quota,
        )
