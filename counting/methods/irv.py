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
`max_skipped_ranks` (see `compile_ballot`). Everything is integer arithmetic.

Speed: each distinct ballot is compiled once into the choices the count can reach (every rule that
does not depend on who is continuing is applied then), and ballots are bucketed by the candidate
they count for, so a round re-reads only the ballots of the candidates just eliminated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from ..ballots import Marks
from ..contest import Contest
from ..errors import DefinitionError
from ..outcome import Outcome, Round, TieBreak
from ..ranking import CUTOFF_NOTE, ORDER_NOTE, tie_order
from ..vocabulary import INVALIDATE, DuplicateRule, Exhausted, MarkKind, OvervoteRule, TieRule, order_rule
from . import Ballots, register

EXHAUST_IMMEDIATELY = OvervoteRule.EXHAUST_IMMEDIATELY
ALWAYS_SKIP = OvervoteRule.ALWAYS_SKIP_TO_NEXT_RANK
EXHAUST_IF_MULTIPLE = OvervoteRule.EXHAUST_IF_MULTIPLE_CONTINUING
OVERVOTE_RULES = tuple(OvervoteRule)
DUPLICATE_RULES = tuple(DuplicateRule)

# Why a ballot became inactive (the round's `exhausted_by` keys).
NO_MORE_CHOICES = Exhausted.NO_MORE_CHOICES
OVERVOTE = Exhausted.OVERVOTE
SKIPPED_RANKS = Exhausted.SKIPPED_RANKS
REPEATED_CANDIDATE = Exhausted.REPEATED_CANDIDATE

PREVIOUS_ROUNDS = TieRule.PREVIOUS_ROUNDS
LOOK_BACK_NOTE = "Tie detected at cutoff; resolved by previous rounds"

# Where a ballot goes instead of a candidate index when it exhausts.
RAN_OUT = -1  # past its last reachable choice: the compiled reason applies
OVERVOTED = -2  # at an overvote with two or more continuing candidates


@dataclass(frozen=True)
class Rules:
    """The contest's IRV options, read once (defaults keep the seeds' behaviour)."""

    overvote: str = INVALIDATE
    duplicate: str = INVALIDATE
    max_skipped: int | None = None
    batch: bool = False
    look_back: bool = True
    favour: Mapping[str, int] = field(default_factory=dict)  # place in the tie order, 0 = most favoured
    order_rule: TieRule = TieRule.CANDIDATE_ID_ASC  # the last-resort tie rule


def rules_of(contest: Contest) -> Rules:
    options = contest.options
    return Rules(
        overvote=options.get("overvote_rule") or INVALIDATE,
        duplicate=options.get("duplicate_candidate_rule") or INVALIDATE,
        max_skipped=options.get("max_skipped_ranks"),
        batch=bool(options.get("batch_elimination", False)),
        look_back=options.get("tie_break_look_back") is not False,
        favour={c: i for i, c in enumerate(tie_order(contest))},
        order_rule=order_rule(options),
    )


# ---------------------------------------------------------------------------------------------
# The definition check


def _check(contest: Contest) -> None:
    """Refuse IRV options that cannot be counted, naming the field."""
    if contest.seats != 1:
        raise DefinitionError("contest.seats", f"instant-runoff elects exactly one candidate, got {contest.seats}")
    if all(c.undeclared_write_in for c in contest.candidates):
        raise DefinitionError("contest.candidates", "at least one candidate must not be an undeclared write-in")
    options = contest.options
    _check_choice(options, "overvote_rule", OVERVOTE_RULES)
    _check_choice(options, "duplicate_candidate_rule", DUPLICATE_RULES)
    for flag in ("batch_elimination", "tie_break_look_back"):
        if options.get(flag) is not None and not isinstance(options[flag], bool):
            raise DefinitionError(f"contest.options.{flag}", f"must be true or false, got {options[flag]!r}")
    skipped = options.get("max_skipped_ranks")
    if skipped is not None and (isinstance(skipped, bool) or not isinstance(skipped, int) or skipped < 0):
        raise DefinitionError(
            "contest.options.max_skipped_ranks", f"must be an integer >= 0 or null (unlimited), got {skipped!r}"
        )
    _check_tie_break_order(contest)


def _check_choice(options: Mapping, name: str, allowed: Sequence[str]) -> None:
    value = options.get(name)
    if value is not None and value not in allowed:
        raise DefinitionError(f"contest.options.{name}", f"must be one of {', '.join(allowed)}, got {value!r}")


def check_candidate_list(contest: Contest, name: str) -> None:
    """An option that lists candidate ids (absent is fine): a list of strings, each a candidate."""
    listed = contest.options.get(name)
    if listed is None:
        return
    where = f"contest.options.{name}"
    if not isinstance(listed, (list, tuple)) or not all(isinstance(c, str) for c in listed):
        raise DefinitionError(where, "must be a list of candidate ids")
    unknown = [c for c in listed if c not in set(contest.candidate_ids)]
    if unknown:
        raise DefinitionError(where, f"unknown candidate(s): {', '.join(unknown)}")


def _check_tie_break_order(contest: Contest) -> None:
    check_candidate_list(contest, "tie_break_order")
    order = contest.options.get("tie_break_order")
    if order is not None and len(set(order)) != len(order):
        raise DefinitionError("contest.options.tie_break_order", "a candidate is listed twice")


# ---------------------------------------------------------------------------------------------
# Reading one ballot: every rule that does not depend on who is continuing, applied once


def _rank_groups(marks: Marks) -> list[tuple[int, tuple[str, ...]]]:
    """The marks grouped by rank, top rank first. A candidate marked twice at the same rank is
    one mark."""
    groups: list[tuple[int, tuple[str, ...]]] = []
    for candidate, rank in sorted(marks, key=lambda mark: (mark[1], mark[0])):
        if groups and groups[-1][0] == rank:
            if candidate not in groups[-1][1]:
                groups[-1] = (rank, groups[-1][1] + (candidate,))
        else:
            groups.append((rank, (candidate,)))
    return groups


def _skips_too_many(rank: int, last_rank: int, max_skipped: int | None) -> bool:
    """max_skipped_ranks: moving down the ballot, the count may jump at most this many unmarked
    ranks past the last rank it looked at (rank 0 before the first); a longer jump exhausts it."""
    return max_skipped is not None and rank - last_rank - 1 > max_skipped


def _repeats(group: tuple[str, ...], seen: set[str], rule: str) -> bool:
    """duplicate_candidate_rule `exhaust`: the ballot exhausts when the count reaches a candidate's
    second occurrence. With `skip` a later occurrence is an ordinary mark: the count only reaches
    it when the earlier one was passed over, so it is passed over too, unless the earlier one sat
    in an overvote skipped by `always-skip-to-next-rank` (RCTab then counts it)."""
    return rule == "exhaust" and any(c in seen for c in group)


def _overvote(group: tuple[int, ...], rule: str) -> tuple[int, ...] | str | None:
    """What an overvoted rank (two or more candidates) becomes under overvote_rule:
    `exhaust-immediately` exhausts the ballot there (returns OVERVOTE); `always-skip-to-next-rank`
    passes the rank over (None); `exhaust-if-multiple-continuing` keeps the group, decided each
    round by `overvote_choice`. (`invalidate-ballot` ballots never reach the count.)"""
    if rule == EXHAUST_IF_MULTIPLE:
        return group
    if rule == ALWAYS_SKIP:
        return None
    return OVERVOTE


def overvote_choice(group: tuple[int, ...], alive: list[bool]) -> int | None:
    """exhaust-if-multiple-continuing, each round: the overvoted rank counts for its one continuing
    candidate, is passed over when none is continuing, and exhausts the ballot when two or more are."""
    chosen = None
    for candidate in group:
        if alive[candidate]:
            if chosen is not None:
                return OVERVOTED
            chosen = candidate
    return chosen


def compile_ballot(marks: Marks, rules: Rules, index: Mapping[str, int]) -> tuple[tuple, str]:
    """The choices the count can reach on this ballot, top first, and why the ballot exhausts when
    it runs past the last one. A choice is a candidate index, or a tuple of indexes for an overvote
    kept for `exhaust-if-multiple-continuing`. The order of the checks at each rank is RCTab's:
    skipped ranks, then a repeated candidate, then an overvote."""
    choices: list = []
    last_rank = 0
    seen: set[str] = set()
    for rank, group in _rank_groups(marks):
        if _skips_too_many(rank, last_rank, rules.max_skipped):
            return tuple(choices), SKIPPED_RANKS
        last_rank = rank
        if _repeats(group, seen, rules.duplicate):
            return tuple(choices), REPEATED_CANDIDATE
        seen.update(group)
        if len(group) == 1:
            choices.append(index[group[0]])
            continue
        outcome = _overvote(tuple(index[c] for c in group), rules.overvote)
        if outcome == OVERVOTE:
            return tuple(choices), OVERVOTE
        if outcome is not None:
            choices.append(outcome)
    return tuple(choices), NO_MORE_CHOICES


def compile_straight(ballots: Sequence[Marks], ids: Sequence[str], repeats_matter: bool) -> list[tuple | None]:
    """The common ballots (one candidate at each of ranks 1, 2, 3..., in that order) compiled to
    their candidate indexes, all at once; None for each ballot that needs `compile_ballot`. Every position
    has its own table from the one kind of mark it may hold, (candidate, the rank of that position),
    to the candidate's index, so a mark out of place (a gap, an overvote, an unsorted ballot) misses
    its table; a ballot longer than the tables reaches the empty one after them. A repeated
    candidate only matters when the duplicate rule is `exhaust` (see `_repeats`)."""
    positions = min(max(map(len, ballots), default=0), _STRAIGHT_RANKS)
    tables = [{(c, rank): i for i, c in enumerate(ids)} for rank in range(1, positions + 1)] + [{}]
    lookup = dict.__getitem__
    compiled: list[tuple | None] = []
    for marks in ballots:
        try:
            choices = tuple(map(lookup, tables, marks))
        except KeyError:
            choices = None
        if repeats_matter and choices and len(set(choices)) != len(choices):
            choices = None
        compiled.append(choices)
    return compiled


_STRAIGHT_RANKS = 32  # longer ballots are rare enough to leave to `compile_ballot`


# ---------------------------------------------------------------------------------------------
# The count's state: ballots bucketed by the candidate they count for


class _Tally:
    """Who each distinct ballot counts for, bucketed by candidate, and the exhausted weight."""

    def __init__(self, ids: Sequence[str], ballots: Ballots, rules: Rules):
        index = {c: i for i, c in enumerate(ids)}
        marks_of = list(ballots)
        self.weights: list[int] = list(ballots.values())
        self.choices: list = compile_straight(marks_of, ids, rules.duplicate == "exhaust")
        self.ends = [NO_MORE_CHOICES] * len(self.choices)  # why each ballot exhausts when it runs out
        for b, choices in enumerate(self.choices):
            if choices is None:
                self.choices[b], self.ends[b] = compile_ballot(marks_of[b], rules, index)
        self.alive = [True] * len(ids)
        self.votes = [0] * len(ids)
        self.holders: list[list[int]] = [[] for _ in ids]  # ballot numbers counting for each candidate
        self.position = [0] * len(self.choices)  # the choice each ballot counts for now
        self.exhausted_by: dict[str, int] = {}
        self._start()

    def _start(self) -> None:
        """Round 1: everyone is continuing, so a ballot whose first choice is a candidate counts
        for it; the others (no choice, or an overvote first) are walked down by `_move`."""
        holders, votes, weights = self.holders, self.votes, self.weights
        others = []
        for b, choices in enumerate(self.choices):
            if choices and choices[0].__class__ is int:
                holders[choices[0]].append(b)
                votes[choices[0]] += weights[b]
            else:
                self.position[b] = -1
                others.append(b)
        self._move(others)

    def eliminate(self, losers: Sequence[int]) -> None:
        """Take the losers out, then move each of their ballots to its next continuing choice."""
        for loser in losers:
            self.alive[loser] = False
        for loser in losers:
            ballots, self.holders[loser] = self.holders[loser], []
            self.votes[loser] = 0
            self._move(ballots)

    def _move(self, ballots: Iterable[int]) -> None:
        """Walk each ballot down from just after its current choice to the first continuing one;
        exhaust it if there is none. The hot loop of the whole count, hence the locals."""
        choices, position, weights, alive = self.choices, self.position, self.weights, self.alive
        holders, votes = self.holders, self.votes
        for b in ballots:
            ballot = choices[b]
            at = position[b] + 1
            candidate = RAN_OUT
            while at < len(ballot):
                choice = ballot[at]
                if choice.__class__ is not int:
                    choice = overvote_choice(choice, alive)
                    if choice is None:
                        at += 1
                        continue
                    if choice == OVERVOTED:
                        candidate = OVERVOTED
                        break
                if alive[choice]:
                    candidate = choice
                    break
                at += 1
            if candidate >= 0:
                position[b] = at
                holders[candidate].append(b)
                votes[candidate] += weights[b]
            else:
                reason = OVERVOTE if candidate == OVERVOTED else self.ends[b]
                self.exhausted_by[reason] = self.exhausted_by.get(reason, 0) + weights[b]


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
    tied: list[str], history: Sequence[Mapping[str, int]], rules: Rules, purpose: str, round_no: int
) -> TieBreak:
    """Decide a tie (to eliminate one, or to elect one): earlier rounds first when
    `tie_break_look_back`, then the tie-break order, in which the last listed loses an
    elimination tie and the first listed wins a winner tie."""
    candidates = sorted(tied, key=rules.favour.__getitem__)
    remaining = candidates
    if rules.look_back:
        remaining = _narrow_by_earlier_rounds(candidates, history[:-1], fewest=purpose == "eliminate")
        if len(remaining) == 1:
            return TieBreak(candidates, remaining, PREVIOUS_ROUNDS, purpose, round_no)
    chosen = remaining[-1] if purpose == "eliminate" else remaining[0]
    return TieBreak(candidates, [chosen], rules.order_rule, purpose, round_no)


def _fewest(tallies: Mapping[str, int], history: Sequence[Mapping[str, int]], rules: Rules, round_no: int) -> _Decision:
    """Regular elimination: the candidate with the fewest votes, a tie broken by `_break_tie`."""
    least = min(tallies.values())
    tied = [c for c, v in tallies.items() if v == least]
    if len(tied) == 1:
        return _Decision([], tied, [])
    tie = _break_tie(tied, history, rules, "eliminate", round_no)
    return _Decision([], list(tie.chosen), [tie])


def _decide(
    tallies: Mapping[str, int], history: Sequence[Mapping[str, int]], rules: Rules, write_ins: frozenset, round_no: int
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
    if rules.batch:
        batch = _batch_losers(tallies, rules.favour)
        if len(batch) >= 2:
            return _Decision([], batch, [])
    return _fewest(tallies, history, rules, round_no)


# ---------------------------------------------------------------------------------------------
# The method


@register("instant-runoff", mark_kind=MarkKind.RANK, preferential=True, check=_check)
def count(contest: Contest, ballots: Ballots) -> Outcome:
    """Count rounds until one candidate is elected; every round and every tie is recorded."""
    rules = rules_of(contest)
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
        state.eliminate([index[c] for c in decision.eliminated])
    return _outcome(ids, rounds, rules)


def _outcome(ids: Sequence[str], rounds: list[Round], rules: Rules) -> Outcome:
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
    return {PREVIOUS_ROUNDS: LOOK_BACK_NOTE, TieRule.TIE_BREAK_ORDER: ORDER_NOTE}.get(rule, CUTOFF_NOTE)
