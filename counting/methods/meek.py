"""Meek STV (`meek-stv`): the method of the elections app in the runbook seed, with its two defects fixed.

The rules, as counting.md states them:
- Arithmetic is `Decimal` with 80 significant digits in a local context, with no rounding step of its own.
  Totals closer than 1e-20 are equal: digits past that are the iteration's noise, so such totals are a tie,
  decided by the tie rules and recorded, never by the 79th digit.
- The quota (option `quota`) is Droop's, `floor(T / (S + 1)) + 1`, T the total weight of the valid ballots,
  computed once (`droop`, the default); or `droop-dynamic`, the Hill-Wichmann-Woodall and New Zealand form:
  `(T - exhausted) / (S + 1)` recomputed after every pass from the votes not exhausted in it, reached by votes
  that exceed it.
- Every candidate has a keep factor: 1 while hopeful, 0 once eliminated or excluded. In a pass each ballot
  carries its weight down its ranking; each continuing candidate keeps `weight x keep factor` and the rest moves on.
- A hopeful whose votes reach the quota is elected in that pass (highest votes first, never more than the seats
  left). After each pass an elected candidate's keep factor becomes `quota / votes received`, clamped to 0..1.
- A phase (the passes between two decisions) ends after the first pass in which, in this order: a hopeful
  reached the quota; or the elected's total surplus is smaller than the gap between the lowest hopeful and the
  next one, so moving it cannot change who is lowest (the lowest is eliminated now); or no keep factor moved by
  1e-40 or more (converged: the lowest is eliminated). A phase of 100,000 passes stops the count with an error.
- Exclusion groups `(members, max_elected)`: when a group reaches its limit its other members are excluded.
- Seats are filled once the electable places (each hopeful outside a group, plus per group the smaller of its
  remaining allowance and its hopeful members) do not exceed the seats left: every electable candidate is then
  elected, a group's best first. So no group ever goes over its limit and no seat stays vacant while an eligible
  candidate remains (the seed broke both). This is decided after a pass, so candidates who fill the seats after
  an elimination are elected after its votes are transferred, ordered by those totals, highest first.
- Ties, in order: the previous pass's totals, current totals, first preferences, the candidates' tie-break keys,
  and last the contest's tie order. The highest goes first when electing, the lowest when eliminating.

Each pass is one `Round`: its tallies are the votes each continuing candidate keeps, its threshold the quota of
the pass, and its details hold every candidate's keep factor after the pass, who was excluded, whether the pass
converged, and what ended the phase (`ended_by`: `quota`, `surplus-bound`, `convergence`, `seats-filled`, or null
when another pass follows).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import Callable, Iterable

from .. import official
from ..contest import Contest, ExclusionGroup
from ..errors import CountingError, DefinitionError
from ..numbers import exact_json
from ..options import Options, as_given, choice, option, refuse_options_of
from ..outcome import Outcome, Round, TieBreak
from ..ranking import tie_order
from ..vocabulary import Exhausted, MarkKind, TieRule, order_rule
from . import Ballots, register
from .irv import IrvOptions

PRECISION = 80
TIE = Decimal("1e-20")  # totals closer than this are equal
TOLERANCE = Decimal("1e-40")  # keep factors that all moved less than this have converged
MAX_PASSES_PER_PHASE = 100_000

DROOP = "droop"
DROOP_DYNAMIC = "droop-dynamic"
QUOTAS = (DROOP, DROOP_DYNAMIC)  # option `quota`

# A fresh context rather than a copy of the caller's: nobody's global settings can change a count.
ARITHMETIC = Context(prec=PRECISION, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])

ZERO = Decimal(0)
ONE = Decimal(1)

HOPEFUL = "hopeful"
ELECTED = "elected"
ELIMINATED = "eliminated"
EXCLUDED = "excluded"

ELECT = "elect"
ELIMINATE = "eliminate"
TOTALS_RULES = (TieRule.PREVIOUS_PASS, TieRule.CURRENT_TOTALS)  # tie rules comparing Decimal totals, so within TIE

# What ended a phase, as each round records it (`ended_by`); null when another pass follows.
BY_QUOTA = "quota"
BY_SURPLUS_BOUND = "surplus-bound"
BY_CONVERGENCE = "convergence"
BY_SEATS_FILLED = "seats-filled"

Path = tuple[str, ...]


@dataclass(frozen=True)
class MeekOptions(Options):
    """meek-stv's options: the quota, and the tie order every rank-by-count method reads (`tie_order`)."""

    quota: str = option(DROOP, choice(QUOTAS), nullable=False)
    tie_break_order: object = option(None, as_given)

    def check(self, contest: Contest) -> None:
        """Refuse what meek-stv cannot count.

        - Exclusion groups must not share a candidate: electable places are counted per group, and with
          overlapping groups that count (the largest set within every limit) is a different, much harder problem.
        - instant-runoff's options (how a ballot is read: overvotes, repeated candidates, skipped ranks; how
          candidates are eliminated) have no meaning here: a contest setting one is refused rather than counted
          as if it were not there.
        More seats than candidates is allowed: every eligible candidate is elected and the rest stay vacant.
        """
        owner: dict[str, str] = {}
        for i, group in enumerate(contest.exclusion_groups):
            for member in group.members:
                if member in owner:
                    raise DefinitionError(
                        f"contest.exclusion_groups[{i}].members",
                        f"candidate {member!r} is already in exclusion group {owner[member]!r}; "
                        "meek-stv needs exclusion groups that do not overlap",
                    )
                owner[member] = group.name
        why = "is an instant-runoff option; meek-stv counts only ballots with one candidate per rank"
        refuse_options_of(contest, IrvOptions, MeekOptions, why)


def droop_quota(total: int, seats: int) -> int:
    """Droop quota: floor(T / (S + 1)) + 1, in integers so nothing is rounded."""
    return total // (seats + 1) + 1


def dynamic_droop_quota(total: int, exhausted: Decimal, seats: int) -> Decimal:
    """The Hill-Wichmann-Woodall / New Zealand quota of one pass: the votes not exhausted over S + 1."""
    return (total - exhausted) / (seats + 1)


@dataclass
class Tally:
    """One pass's distribution of the ballots."""

    number: int
    retained: dict[str, Decimal]  # what each continuing candidate keeps: the round's tallies
    received: dict[str, Decimal]  # what reaches each continuing candidate before it keeps its share
    exhausted: Decimal  # weight that passed every continuing candidate on its ballots


@register("meek-stv", mark_kind=MarkKind.RANK, preferential=True, options=MeekOptions)
def meek_stv(contest: Contest, ballots: Ballots) -> Outcome:
    """Count `seats` winners by Meek STV over the weighted multiset of valid ranked ballots."""
    with localcontext(ARITHMETIC):
        return MeekCount(contest, ballots).run()


class MeekCount:
    """One count in progress: candidate states, keep factors and the record of every pass."""

    def __init__(self, contest: Contest, ballots: Ballots):
        self.contest = contest
        self.ids = contest.candidate_ids
        self.rankings = _rankings(ballots)
        self.total = sum(w for _, w in self.rankings)
        self.dynamic = MeekOptions.parse(contest).quota == DROOP_DYNAMIC
        self.quota: int | Decimal = droop_quota(self.total, contest.seats)  # the dynamic one is set every pass
        self.status = dict.fromkeys(self.ids, HOPEFUL)
        self.keep = dict.fromkeys(self.ids, ONE)
        self.group_of = {m: g for g in contest.exclusion_groups for m in g.members}
        self.first_preferences = _first_preferences(self.ids, self.rankings)
        favour = tie_order(contest)  # most favoured first
        self.favour = {c: len(favour) - i for i, c in enumerate(favour)}  # most favoured = highest
        self.fallback_rule = order_rule(contest.options)
        self.elected: list[str] = []
        self.removed: list[str] = []  # eliminated or excluded, in that order
        self.final_totals = dict.fromkeys(self.ids, ZERO)
        self.rounds: list[Round] = []
        self.ties: list[TieBreak] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------------ the count

    def run(self) -> Outcome:
        """Pass after pass until the seats are filled or nobody is left to elect."""
        self.exclude_write_ins()
        paths = self.ballot_paths()
        previous: dict[str, Decimal] | None = None
        passes_in_phase = 0
        while self.seats_left() and self.hopefuls():
            tally = self.distribute(paths, len(self.rounds) + 1)
            if self.dynamic:
                self.quota = dynamic_droop_quota(self.total, tally.exhausted, self.contest.seats)
            record = self.open_round(tally)
            ended_by = BY_QUOTA if self.elect_reaching_quota(tally, previous, record) else None
            movement = self.update_keep_factors(tally)
            converged = ended_by is None and movement < TOLERANCE
            if self.seats_left() and self.hopefuls():
                if self.may_fill_remaining_seats(converged):
                    self.fill_remaining_seats(tally, previous, record)
                    ended_by = ended_by or BY_SEATS_FILLED
                elif ended_by is None and self.must_eliminate() and self.surplus_cannot_save_the_lowest(tally):
                    self.eliminate_lowest(tally, record)
                    ended_by = BY_SURPLUS_BOUND
                elif converged:
                    self.eliminate_lowest(tally, record)
                    ended_by = BY_CONVERGENCE
            self.close_round(record, tally, converged, ended_by)
            previous = tally.retained
            if ended_by is not None:
                paths = self.ballot_paths()  # the candidates changed: re-read the ballots for the next phase
                passes_in_phase = 0
            else:
                passes_in_phase += 1
                if passes_in_phase >= MAX_PASSES_PER_PHASE:
                    raise CountingError(
                        f"meek-stv did not converge in contest {self.contest.id!r}: after {MAX_PASSES_PER_PHASE} "
                        f"passes (pass {tally.number}) a keep factor still moved by {movement:.3E}, more than "
                        f"the {TOLERANCE} the rules allow; the tally stops and nothing is published"
                    )
        return self.outcome()

    def exclude_write_ins(self) -> None:
        """An undeclared write-in (the pool of write-ins nobody declared) can never be elected: it is excluded
        before the first pass, so its ballots count for their next preferences."""
        pool = [c.id for c in self.contest.candidates if c.undeclared_write_in]
        for candidate in pool:
            self.remove(candidate, EXCLUDED)
        if pool:
            self.notes.append(f"Undeclared write-ins cannot be elected; excluded before the count: {', '.join(pool)}")

    # ------------------------------------------------------------------ one pass

    def ballot_paths(self) -> list[tuple[Path, Decimal]]:
        """Each ballot reduced to the candidates that can hold part of it, with ballots merged by that path.

        Eliminated and excluded candidates keep nothing, so they are dropped; a hopeful keeps everything, so the
        path ends at the first one. What is left is a run of elected candidates and at most one hopeful: few
        distinct paths, however many ballots. Paths are summed as integers and sorted, so the Decimal sums of a
        pass never depend on the order the ballots came in.
        """
        merged: dict[Path, int] = {}
        status = self.status
        for ranking, weight in self.rankings:
            path = []
            for candidate in ranking:
                state = status[candidate]
                if state == ELECTED:
                    path.append(candidate)
                elif state == HOPEFUL:
                    path.append(candidate)
                    break
            key = tuple(path)
            merged[key] = merged.get(key, 0) + weight
        return [(path, Decimal(weight)) for path, weight in sorted(merged.items())]

    def distribute(self, paths: list[tuple[Path, Decimal]], number: int) -> Tally:
        """Each ballot carries its weight down its path; each candidate keeps `weight x keep factor` of what
        reaches it and passes the rest on. What passes the last candidate is exhausted."""
        continuing = self.continuing()
        retained = dict.fromkeys(continuing, ZERO)
        received = dict.fromkeys(continuing, ZERO)
        keep = self.keep
        exhausted = ZERO
        for path, weight in paths:
            remaining = weight
            for candidate in path:
                received[candidate] += remaining
                kept = remaining * keep[candidate]
                retained[candidate] += kept
                remaining -= kept
            exhausted += remaining
        return Tally(number, retained, received, exhausted)

    def elect_reaching_quota(self, tally: Tally, previous: dict | None, record: Round) -> bool:
        """Every hopeful whose votes reach the quota is elected, highest votes first, while seats are left.

        A candidate whose group filled earlier in the same pass was excluded instead, so the group stays within
        its limit even when several of its members reach the quota together."""
        reaching = [c for c in self.hopefuls() if self.reaches_quota(tally.retained[c])]
        for candidate in self.rank(reaching, tally.retained, previous, record):
            if not self.seats_left():
                break
            if self.status[candidate] == HOPEFUL:
                self.elect(candidate, record)
        return bool(reaching)

    def reaches_quota(self, votes: Decimal) -> bool:
        """The fixed quota is reached by votes equal to it; the dynamic one, a fraction of the votes in play,
        only by votes above it (so no more than S candidates can reach it together, as in the NZ rules)."""
        return votes > self.quota if self.dynamic else votes >= self.quota

    def update_keep_factors(self, tally: Tally) -> Decimal:
        """Every elected candidate's keep factor becomes quota / votes received, clamped to 0..1.

        Returns the largest change, which decides convergence."""
        movement = ZERO
        quota = Decimal(self.quota)
        for candidate in self.elected:
            received = tally.received.get(candidate, ZERO)
            if received <= 0:
                continue  # cannot happen to a candidate elected by the quota; nothing to scale
            factor = min(ONE, max(ZERO, quota / received))
            movement = max(movement, abs(factor - self.keep[candidate]))
            self.keep[candidate] = factor
        return movement

    def may_fill_remaining_seats(self, converged: bool) -> bool:
        """The remaining seats are filled once the electable places do not exceed them.

        When every hopeful has a place this happens at once. When a group must choose among its members it waits
        for convergence, so that the group's best is judged on settled totals."""
        places = self.electable_places()
        if places > self.seats_left():
            return False
        return places == len(self.hopefuls()) or converged

    def fill_remaining_seats(self, tally: Tally, previous: dict | None, record: Round) -> None:
        """Elect every electable candidate, highest votes first; a group's best members take its places and
        the rest of the group is excluded when it fills. Seats with nobody eligible left stay vacant."""
        for candidate in self.rank(self.hopefuls(), tally.retained, previous, record):
            if self.seats_left() and self.status[candidate] == HOPEFUL:
                self.elect(candidate, record)

    def must_eliminate(self) -> bool:
        """More electable places than seats: someone must go. Otherwise every place is filled once a group has
        chosen on settled totals, and the lowest hopeful may hold a place of its own that nobody else can take."""
        return self.electable_places() > self.seats_left()

    def surplus_cannot_save_the_lowest(self, tally: Tally) -> bool:
        """The elected's total surplus is smaller than the gap between the lowest hopeful and the next one.

        Further passes only move that surplus on, so even if all of it reached the lowest hopeful, it would stay
        lowest: it can be eliminated now rather than after convergence. Totals closer than TIE are a tie, never
        a gap: a tie for lowest waits for convergence and the tie rules."""
        totals = sorted(tally.retained[c] for c in self.hopefuls())
        if len(totals) < 2 or totals[1] - totals[0] < TIE:
            return False
        surplus = sum((max(ZERO, tally.retained[c] - self.quota) for c in self.elected), ZERO)
        return surplus < totals[1] - totals[0]

    def eliminate_lowest(self, tally: Tally, record: Round) -> None:
        """The hopeful with the fewest votes is eliminated; totals within TIE of the fewest tie with it.

        The elimination is decided after the pass, on its totals, so for this decision "the previous pass" is
        that pass itself: ties normally come down to first preferences (counting.md, example 5)."""
        hopefuls = self.hopefuls()
        fewest = min(tally.retained[c] for c in hopefuls)
        tied = [c for c in hopefuls if tally.retained[c] - fewest < TIE]
        loser = tied[0] if len(tied) == 1 else self.break_tie(tied, tally.retained, tally.retained, ELIMINATE, record)
        self.remove(loser, ELIMINATED)
        record.eliminated.append(loser)

    # ------------------------------------------------------------------ elections and groups

    def elect(self, candidate: str, record: Round) -> None:
        """Elect one candidate; when that fills its group, the group's other hopefuls are excluded."""
        group = self.group_of.get(candidate)
        assert group is None or self.elected_in(group) < group.max_elected, "a group would go over its limit"
        self.status[candidate] = ELECTED
        self.elected.append(candidate)
        record.elected.append(candidate)
        if group is not None and self.elected_in(group) == group.max_elected:
            for member in group.members:
                if self.status[member] == HOPEFUL:
                    self.remove(member, EXCLUDED)
                    record.details["excluded"].append(member)

    def remove(self, candidate: str, state: str) -> None:
        """Eliminated or excluded: keep factor 0, so every ballot passes the candidate by."""
        self.status[candidate] = state
        self.keep[candidate] = ZERO
        self.removed.append(candidate)

    def electable_places(self) -> int:
        """Each hopeful outside any group, plus per group the smaller of its remaining allowance and its
        hopeful members: how many more candidates could still be elected."""
        places = sum(1 for c in self.hopefuls() if c not in self.group_of)
        for group in self.contest.exclusion_groups:
            hopeful_members = sum(1 for m in group.members if self.status[m] == HOPEFUL)
            places += min(group.max_elected - self.elected_in(group), hopeful_members)
        return places

    def elected_in(self, group: ExclusionGroup) -> int:
        return sum(1 for m in group.members if self.status[m] == ELECTED)

    def seats_left(self) -> int:
        return self.contest.seats - len(self.elected)

    def hopefuls(self) -> list[str]:
        return [c for c in self.ids if self.status[c] == HOPEFUL]

    def continuing(self) -> list[str]:
        return [c for c in self.ids if self.status[c] in (HOPEFUL, ELECTED)]

    # ------------------------------------------------------------------ ties

    def rank(self, candidates: Iterable[str], current: dict, previous: dict | None, record: Round) -> list[str]:
        """Candidates by current totals, highest first, each tie (totals within TIE of the top) broken by the
        tie rules and recorded."""
        rest = list(candidates)
        order = []
        while rest:
            top = max(current[c] for c in rest)
            tied = [c for c in rest if top - current[c] < TIE]
            chosen = tied[0] if len(tied) == 1 else self.break_tie(tied, current, previous, ELECT, record)
            order.append(chosen)
            rest.remove(chosen)
        return order

    def break_tie(self, tied: list[str], current: dict, previous: dict | None, purpose: str, record: Round) -> str:
        """Ties, in order: totals of the previous pass, current totals, first preferences, the tie-break key,
        then the contest's tie order (most favoured = highest). The highest goes first when electing; the lowest
        goes when eliminating. Each rule narrows the tie to the candidates at the extreme; the first rule that
        leaves one candidate decides, and is recorded.

        Current totals usually only confirm the tie (a tie is equal current totals); the rule is kept because
        the contract names it. The key rule applies only when every candidate still tied has a key. Totals
        (of either pass) within TIE of the extreme count as equal to it.
        """
        extreme = max if purpose == ELECT else min
        remaining = list(tied)
        for rule, value in self.tie_rules(current, previous):
            if rule == self.fallback_rule and official.official(self.contest.options):
                tie = replace(official.decide(self.contest.options, remaining, purpose, record.round), candidates=list(tied))
                record.tie_breaks.append(tie)
                self.ties.append(tie)
                return tie.chosen[0]
            if rule == TieRule.TIE_BREAK_KEY and any(value(c) is None for c in remaining):
                continue
            values = {c: value(c) for c in remaining}
            best = extreme(values.values())
            if rule in TOTALS_RULES:
                remaining = [c for c in remaining if abs(values[c] - best) < TIE]
            else:
                remaining = [c for c in remaining if values[c] == best]
            if len(remaining) == 1:
                tie = TieBreak(list(tied), remaining, rule, purpose, record.round)
                record.tie_breaks.append(tie)
                self.ties.append(tie)
                return remaining[0]
        raise AssertionError("the contest's tie order ranks every candidate")  # pragma: no cover

    def tie_rules(self, current: dict, previous: dict | None) -> list[tuple[str, Callable[[str], object]]]:
        rules: list[tuple[str, Callable[[str], object]]] = []
        if previous is not None:  # the first pass has none
            rules.append((TieRule.PREVIOUS_PASS, lambda c: previous.get(c, ZERO)))
        rules.append((TieRule.CURRENT_TOTALS, lambda c: current[c]))
        rules.append((TieRule.FIRST_PREFERENCES, lambda c: self.first_preferences[c]))
        rules.append((TieRule.TIE_BREAK_KEY, lambda c: self.contest.candidate(c).tie_break_key))
        rules.append((self.fallback_rule, lambda c: self.favour[c]))
        return rules

    # ------------------------------------------------------------------ the record

    def open_round(self, tally: Tally) -> Round:
        return Round(
            round=tally.number,
            tallies=dict(tally.retained),
            threshold=self.quota,
            exhausted=tally.exhausted,
            exhausted_by={Exhausted.NO_MORE_CHOICES: tally.exhausted} if tally.exhausted else {},
            details={"excluded": []},
        )

    def close_round(self, record: Round, tally: Tally, converged: bool, ended_by: str | None) -> None:
        """Keep factors after the pass (the ones the next pass uses), written while the 80-digit context is
        active so the strings carry every digit, and what ended the phase (null: another pass follows)."""
        record.details = {
            "keep_factors": {c: exact_json(self.keep[c]) for c in self.ids},
            "excluded": record.details["excluded"],
            "converged": converged,
            "ended_by": ended_by,
        }
        self.rounds.append(record)
        self.final_totals.update(tally.retained)

    def outcome(self) -> Outcome:
        """Winners in order of election; then the unelected still continuing by final total; then the
        eliminated and excluded, the last removed first."""
        winners = list(self.elected)
        waiting = sorted(self.hopefuls(), key=lambda c: (-self.final_totals[c], -self.favour[c]))
        order = winners + waiting + list(reversed(self.removed))
        return Outcome(
            totals=dict(self.final_totals),
            winners=winners,
            order=order,
            rounds=self.rounds,
            ties=self.ties,
            notes=self.notes,
            quota=self.quota,
        )


def _rankings(ballots: Ballots) -> list[tuple[Path, int]]:
    """Each distinct ballot as its candidates in order of preference (gaps in the ranks do not matter).

    Marks arrive canonical, sorted by (rank, candidate). A candidate listed twice counts where it first appears
    (validation already refuses such ballots for this method; this keeps the count well defined regardless)."""
    out = []
    for marks, weight in ballots.items():
        seen: dict[str, None] = {}
        for candidate, _rank in marks:
            seen.setdefault(candidate)
        out.append((tuple(seen), int(weight)))
    return out


def _first_preferences(ids: Iterable[str], rankings: list[tuple[Path, int]]) -> dict[str, int]:
    """Weight of the ballots ranking each candidate first, as cast: the third tie rule."""
    first = dict.fromkeys(ids, 0)
    for ranking, weight in rankings:
        if ranking:
            first[ranking[0]] += weight
    return first
