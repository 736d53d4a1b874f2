"""One RCTab tabulation: rounds until the seats are filled, as RCTab's Tabulator counts them.

Each round, in RCTab's order:
1. every ballot whose candidate stopped continuing moves down its ranks to its next continuing
   candidate, at its current value, or becomes inactive (by reason); once every seat of a
   surplus-transferring count is filled, the last winners' ballots become the final round surplus;
2. the threshold: recomputed each round for one seat (unless `first_round_determines_threshold`,
   or frozen once a winner is found under `continue_until_two_candidates_remain`), computed in
   round 1 only for several seats: `floor(votes / (seats + 1)) + 1` (to `decimal_places` with
   `non_integer_winning_threshold`: the last 1 is then one unit of the last place), `ceil(votes /
   seats)` with `hare_quota`, or `votes x percentage` in the percentage-threshold mode;
3. winners (`_winners`); with none, eliminations (`_losers`) while seats are unfilled, until two
   remain under `continue_until_two_candidates_remain`, or in the percentage-threshold mode;
4. a winner's surplus transfers: surplus fraction = `(votes - threshold) / votes` truncated to
   `decimal_places`; each of its ballots moves on with `value x fraction` (truncated) and leaves the
   rest with the winner, whose tally from the next round is the threshold; what truncation leaves
   over the threshold is the round's residual surplus.

Numbers are exact: integers while every ballot counts whole, else fractions whose denominators are
powers of ten (RCTab's BigDecimal values, to the same digits). RCTab also writes a figure with all
its decimal places ("8.0000") once it sums a ballot that sat on a surplus-transferring winner, as a
BigDecimal keeps the largest scale of its terms: each round of such a count says which of its
figures those are (`rctab_scale`), so that RCTab's report can be written as RCTab writes it.
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor
from collections.abc import Mapping, Sequence

from ..contest import Contest
from ..errors import CountingError
from ..numbers import Number, exact_json
from ..outcome import Round, TieBreak, Transfer
from ..ranked import Compiled, Piles, overvote_choice
from ..vocabulary import Exhausted
from .rcv_rules import RcvOptions, WinnerMode
from .rcv_ties import TieBreaker

FINAL_ROUND_SURPLUS = Exhausted.FINAL_ROUND_SURPLUS


class _ScaledPiles(Piles):
    """Piles that also know which ballots sat on a surplus-transferring winner (`scaled`), and
    for which reasons such ballots became inactive."""

    def __init__(self, *args):
        super().__init__(*args)
        self.scaled: set[int] = set()
        self.scaled_reasons: set[str] = set()
        self.scaled_exhausted = 0  # how many scaled ballots worth something became inactive so far

    def exhaust(self, b: int, reason: str) -> None:
        super().exhaust(b, reason)
        if b in self.scaled:
            self.scaled_reasons.add(reason)
            self.scaled_exhausted += self.worth[b] > 0

    def moved_scaled(self, ballots: list[int], exhaust: str | None) -> tuple[dict[int, Number], Number, list]:
        """`moved`, and where the scaled ballots worth something went: candidate numbers, and
        "exhausted" if any became inactive (RCTab's transfers leave out ballots worth nothing,
        its tallies count them)."""
        scaled = {b: self.position[b] for b in self.scaled.intersection(ballots) if self.worth[b] > 0}
        exhausted_before = self.scaled_exhausted
        gains, exhausted = self.moved(ballots, exhaust)
        to = {self._holder(b) for b, at in scaled.items() if self.position[b] != at}
        return gains, exhausted, sorted(to) + (["exhausted"] if self.scaled_exhausted > exhausted_before else [])

    def _holder(self, b: int) -> int:
        choice = self.choices[b][self.position[b]]
        return choice if choice.__class__ is int else overvote_choice(choice, self.alive)


def truncate(value: Number, places: int) -> Number:
    """`value` cut (towards zero) to `places` decimals, as RCTab's RoundingMode.DOWN."""
    scale = 10**places
    cut = Fraction(floor(Fraction(value) * scale), scale)
    return cut.numerator if cut.denominator == 1 else cut


def _whole(value: Number) -> Number:
    return value.numerator if isinstance(value, Fraction) and value.denominator == 1 else value


class Tabulation:
    """One RCTab count over the weighted distinct ballots; `run()` returns its rounds."""

    caps_winners = True  # a winner shows at most the threshold, the rest is residual surplus

    def __init__(self, contest: Contest, ballots: Compiled, rules: RcvOptions, excluded: frozenset[str]):
        self.rules = rules
        self.ids = contest.candidate_ids
        self.write_in = next((c.id for c in contest.candidates if c.undeclared_write_in), None)
        self.declared = sum(1 for c in contest.candidates if not c.undeclared_write_in)
        self.standing = len(self.ids) - len(excluded)  # RCTab's "number of candidates"
        self.ties = TieBreaker(rules.tie_break_mode, rules.tie_break_order, rules.seed, self.write_in, contest.options)
        self.weights = ballots.weights
        self.values: list[Number] = [1] * len(self.weights)  # each vote's remaining value
        # What each ballot counts: weight x value (values change only in `_transfer_surplus`).
        self.piles = _ScaledPiles(ballots, [c not in excluded for c in self.ids], list(self.weights))
        self.alive, self.votes, self.holders = self.piles.alive, self.piles.votes, self.piles.holders
        self.exhausted_by = self.piles.exhausted_by
        # the candidates who stopped continuing and their ballots, to move at the start of the next round
        self.moving: list[tuple[str, list[int]]] | None = None  # None: every ballot, at first
        self.elected_in: dict[str, int] = {}
        self.eliminated_in: dict[str, int] = {}
        self.kept: dict[str, Number] = {}  # what each surplus-transferring winner keeps of its ballots
        self.winner_tally: dict[str, Number] = {}
        self.winner_scaled: dict[str, bool] = {}  # whether a winner's tally shows what it kept (see `_details`)
        self.residual: Number = 0
        self.rounds: list[Round] = []
        self.history: list[dict[str, Number]] = []
        self.threshold: Number = 0

    # -------------------------------------------------------------------------------------
    # The round loop

    def run(self) -> list[Round]:
        while self._continuing():
            round_no = len(self.rounds) + 1
            self._move()
            tallies = {c: _whole(self.votes[i]) for i, c in enumerate(self.ids) if self.alive[i]}
            scaled = self._scaled(tallies)
            if self._recompute_threshold(round_no):
                self.threshold = self._threshold(sum(tallies.values()))
            elected, ties = self._winners(tallies, round_no)
            eliminated: list[str] = []
            if elected:
                self._elect(elected, tallies, round_no)
            elif self._needs_elimination():
                eliminated, more_ties = self._losers(tallies, round_no)
                ties += more_ties
                self._eliminate(eliminated, round_no)
            shown = dict(tallies)
            if self.rules.seats > 1:  # earlier winners stay in the tallies, as RCTab reports them
                shown.update(self._winner_tallies(round_no))
                shown = {c: shown[c] for c in self.ids if c in shown}
            self.history.append(shown)
            self.rounds.append(
                Round(
                    round=round_no,
                    tallies=shown,
                    threshold=_whole(self.threshold),
                    elected=elected,
                    eliminated=eliminated,
                    exhausted=_whole(sum(self.exhausted_by.values())),
                    exhausted_by={k: _whole(v) for k, v in self.exhausted_by.items()},
                    tie_breaks=ties,
                    details=self._details(shown, scaled),
                )
            )
            if not elected and not eliminated and self._continuing():  # the next round would be the same
                raise CountingError(f"round {round_no}: no candidate can be elected or eliminated")
        return self.rounds

    def _continuing(self) -> bool:
        """RCTab's shouldContinueTabulating."""
        rules, round_no = self.rules, len(self.rounds)
        if rules.stop_after is not None and round_no >= rules.stop_after:
            return False
        if len(self.elected_in) == self.declared and rules.seats > self.standing:
            return False  # more seats than candidates: everyone is elected
        if rules.continue_until_two:
            decided = len(self.eliminated_in) + len(self.elected_in)
            return decided + 1 < self.standing or round_no in self.eliminated_in.values()
        if rules.mode == WinnerMode.BOTTOMS_UP_PERCENTAGE:
            return not self.elected_in
        # one more round after the last winners, to show their surplus transferred
        return len(self.elected_in) < rules.seats or (rules.uses_surpluses and round_no in self.elected_in.values())

    # -------------------------------------------------------------------------------------
    # Moving ballots

    def _move(self) -> None:
        """Move each ballot whose candidate stopped continuing to its next continuing choice
        (`ranked.Piles`); once every seat is filled, the last winners' ballots are their surplus."""
        leaving, self.moving = self.moving, []
        if leaving is None:
            self.piles.start()
            return
        final = FINAL_ROUND_SURPLUS if self.rules.uses_surpluses and len(self.elected_in) == self.rules.seats else None
        for candidate, ballots in leaving:
            gains, exhausted, scaled = self.piles.moved_scaled(ballots, final)
            self.rounds[-1].transfers.append(
                Transfer(candidate, {self.ids[i]: _whole(v) for i, v in gains.items()}, _whole(exhausted))
            )
            if scaled:
                self.rounds[-1].details["rctab_scale"]["transfers"][candidate] = [
                    "exhausted" if to == "exhausted" else self.ids[to] for to in scaled
                ]

    def _details(self, shown: Mapping[str, Number], scaled: list[str]) -> dict:
        """A surplus-transferring count's round: its residual surplus so far, and which of its
        figures sum a ballot that sat on a winner (RCTab writes those with its decimal places):
        the tallies, the reasons of inactive ballots, and (filled in next round) the transfers."""
        if not self.rules.uses_surpluses:
            return {}
        scale = {
            "places": self.rules.places,
            # earlier winners are no longer continuing: `winner_scaled` says how they show
            "tallies": [c for c in shown if c in scaled or self.winner_scaled.get(c, False)],
            "exhausted_by": sorted(self.piles.scaled_reasons),
            "transfers": {},
        }
        return {"residual_surplus": exact_json(self.residual), "rctab_scale": scale}

    def _scaled(self, tallies: Mapping[str, Number]) -> list[str]:
        """The continuing candidates holding a ballot that sat on a winner, before anyone leaves."""
        if not self.piles.scaled:
            return []
        return [c for c in tallies if not self.piles.scaled.isdisjoint(self.holders[self.ids.index(c)])]

    def _release(self, candidate: str) -> None:
        """The candidate stops continuing: its ballots move at the start of the next round."""
        self.moving.append((candidate, self.piles.release(self.ids.index(candidate))))

    # -------------------------------------------------------------------------------------
    # The threshold

    def _recompute_threshold(self, round_no: int) -> bool:
        """RCTab's shouldRecomputeThreshold."""
        if round_no == 1:
            return True
        if self.rules.seats > 1 or self.rules.first_round_threshold:
            return False
        if self.rules.continue_until_two:
            return not self.elected_in
        return True

    def _threshold(self, active: Number) -> Number:
        rules = self.rules
        if rules.mode == WinnerMode.BOTTOMS_UP_PERCENTAGE:
            return _whole(Fraction(active) * rules.percentage)
        places = rules.places if rules.non_integer_threshold else 0
        scale = 10**places
        if rules.hare_quota:
            return _whole(Fraction(ceil(Fraction(active) * scale / rules.seats), scale))
        return _whole(Fraction(floor(Fraction(active) * scale / (rules.seats + 1)) + 1, scale))

    # -------------------------------------------------------------------------------------
    # Winners

    def _winners(self, tallies: dict[str, Number], round_no: int) -> tuple[list[str], list[TieBreak]]:
        """RCTab's identifyWinners: who is elected this round, and the tie that decided it, if any."""
        rules = self.rules
        if self.write_in in tallies and tallies[self.write_in] != 0:
            return [], []  # nobody is elected while undeclared write-ins hold votes
        if rules.mode == WinnerMode.BOTTOMS_UP_PERCENTAGE:
            if all(v > self.threshold for v in tallies.values()):
                return self._by_votes(list(tallies), tallies), []
            return [], []
        unfilled = rules.seats - len(self.elected_in)
        selected: list[str] = []
        if unfilled > 0:
            if len(tallies) <= unfilled:
                selected = list(tallies)
            elif rules.first_round_threshold and len(tallies) - 1 == rules.seats:
                selected = _top(tallies)
            elif rules.mode != WinnerMode.BOTTOMS_UP:
                selected = [c for c, v in tallies.items() if v >= self.threshold and c != self.write_in]
        one_at_a_time = len(selected) > 1 and (rules.mode == WinnerMode.ONE_PER_ROUND or rules.first_round_threshold)
        last_two = rules.seats == 1 and not selected and len(tallies) == 2 and unfilled == 1
        if one_at_a_time or last_two:
            # never the undeclared write-in (it holds no votes here): with two left, the other one wins
            selected = _top({c: v for c, v in tallies.items() if c != self.write_in})
            if len(selected) > 1:
                tie = self.ties.decide(selected, True, round_no, self.history)
                return list(tie.chosen), [tie]
        return self._by_votes(selected, tallies), []

    def _by_votes(self, candidates: list[str], tallies: Mapping[str, Number]) -> list[str]:
        """Winners of one round in order: most votes first, then the tie-break order."""
        place = {c: i for i, c in enumerate(self.rules.tie_break_order)}
        return sorted(candidates, key=lambda c: (-tallies[c], place[c]))

    def _elect(self, elected: list[str], tallies: Mapping[str, Number], round_no: int) -> None:
        rules = self.rules
        for winner in elected:
            self.elected_in[winner] = round_no
            if rules.uses_surpluses:
                self._transfer_surplus(winner, tallies[winner])
            if not rules.continue_until_two:
                self._release(winner)

    def _transfer_surplus(self, winner: str, votes: Number) -> None:
        """Each of the winner's ballots keeps `value - value x fraction` with the winner and moves
        on with `value x fraction`, both to RCTab's decimal places."""
        places = self.rules.places
        fraction = self._surplus_fraction(winner, votes)
        kept: Number = 0
        values, weights, worth = self.values, self.weights, self.piles.worth
        self.piles.scaled.update(self.holders[self.ids.index(winner)])
        for b in self.holders[self.ids.index(winner)]:
            moving = truncate(values[b] * fraction, places)
            values[b] = moving
            # A ballot of weight 1 is worth its value: the same object, not a second Fraction per
            # ballot for the garbage collector to walk through every collection of the count.
            now = moving if weights[b] == 1 else weights[b] * moving
            kept += worth[b] - now  # weight x (value - moving)
            worth[b] = now
        self.kept[winner] = kept

    def _surplus_fraction(self, winner: str, votes: Number) -> Number:
        extra = votes - self.threshold
        return truncate(Fraction(extra) / votes, self.rules.places) if extra > 0 else 0

    def _winner_tallies(self, round_no: int) -> dict[str, Number]:
        """RCTab's updateWinnerTallies: a winner of the previous round shows what it kept, capped at
        the threshold (the excess is residual surplus); earlier winners show what they showed."""
        for winner, won in self.elected_in.items():
            if won == round_no - 1:
                kept = self.kept.get(winner, 0)
                # what it kept sums scaled ballots; the threshold, when it caps them, is written as itself
                capped = self.caps_winners and kept > self.threshold
                self.winner_scaled[winner] = not capped
                if capped:
                    self.residual += kept - self.threshold
                    self._transfer_of(winner).residual = _whole(kept - self.threshold)
                    kept = self.threshold
                self.winner_tally[winner] = _whole(kept)
        return {w: self.winner_tally[w] for w, won in self.elected_in.items() if won < round_no}

    def _transfer_of(self, winner: str) -> Transfer:
        """The winner's surplus transfer, recorded in the round that elected it."""
        return next(t for t in self.rounds[self.elected_in[winner] - 1].transfers if t.source == winner)

    # -------------------------------------------------------------------------------------
    # Eliminations

    def _needs_elimination(self) -> bool:
        rules = self.rules
        return (
            len(self.elected_in) < rules.seats
            or (rules.continue_until_two and len(self.eliminated_in) < self.standing - 2)
            or rules.mode == WinnerMode.BOTTOMS_UP_PERCENTAGE
        )

    def _losers(self, tallies: dict[str, Number], round_no: int) -> tuple[list[str], list[TieBreak]]:
        """In order, the first that applies: undeclared write-ins holding votes; everyone below
        `minimum_vote_threshold`; with `cutoff_elimination`, everyone below the threshold; a batch
        (`batch_elimination`, two or more); the candidate with the fewest votes (a tie: the tie-break)."""
        if self.write_in in tallies and tallies[self.write_in] > 0:
            return [self.write_in], []
        minimum = self.rules.minimum
        below = [c for c, v in tallies.items() if v < minimum] if minimum > 0 else []
        if below:
            if len(below) == self.declared:
                raise CountingError(f"round {round_no}: every candidate is below minimum_vote_threshold {minimum}")
            return below, []
        if self.rules.cutoff:
            below = [c for c, v in tallies.items() if v < self.threshold]
            if below:
                return below, []
        if self.rules.batch:
            batch = self._batch(tallies)
            if len(batch) > 1:
                return batch, []
        fewest = min(tallies.values())
        tied = [c for c, v in tallies.items() if v == fewest]
        if len(tied) == 1:
            return tied, []
        tie = self.ties.decide(tied, False, round_no, self.history)
        return list(tie.chosen), [tie]

    def _batch(self, tallies: Mapping[str, Number]) -> list[str]:
        """RCTab's batch elimination: walking up the counts with a running total of the votes seen,
        everyone seen goes whenever the running total is below the next count. Under
        `continue_until_two_candidates_remain` the last batch added is dropped when it would leave a
        single candidate."""
        running: Number = 0
        seen: list[str] = []
        batch: list[str] = []
        before: list[str] = []
        for count in sorted(set(tallies.values())):
            grown = batch + [c for c in seen if c not in batch] if running < count else batch
            level = [c for c, v in tallies.items() if v == count]
            running += count * len(level)
            seen += level
            if len(grown) > len(batch):
                before, batch = batch, grown
        if self.rules.continue_until_two and len(batch) + len(self.eliminated_in) == self.standing - 1:
            batch = before
        return batch

    def _eliminate(self, losers: Sequence[str], round_no: int) -> None:
        for loser in losers:
            self.eliminated_in[loser] = round_no
            self._release(loser)


def _top(tallies: Mapping[str, Number]) -> list[str]:
    most = max(tallies.values())
    return [c for c, v in tallies.items() if v == most]

