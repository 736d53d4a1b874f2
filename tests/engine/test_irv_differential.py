"""Differential test: our instant-runoff against pyrankvote's on random elections.

The two define the same rule only where nothing is decided by a tie, so an election is compared
only when our count shows no tie of any kind and no candidate ever holding exactly half of the
continuing ballots. Outside those cases they differ by design:
- pyrankvote breaks ties by second choices, then at random; we look back, then use the tie order;
- pyrankvote elects with half the continuing ballots when their number is even (>= ceil(n / 2));
  we need a strict majority;
- pyrankvote drops every candidate whose votes plus all lower ones are <= the next one up, in one
  round; with strict inequality that drops only candidates sequential elimination would drop
  first, and equality there always leads to a tie in our count.
So rounds differ (pyrankvote batches); only winners are compared.
"""

from __future__ import annotations

import random
from collections import Counter

import pyrankvote
import pytest

from counting import Candidate, Contest
from counting.methods import METHODS

CHUNKS = 12
PER_CHUNK = 40


def random_election(seed: int) -> tuple[str, list[tuple[str, ...]]]:
    """3 to 6 candidates of uneven popularity; 15 to 150 voters ranking 1 to all of them."""
    rng = random.Random(seed)
    names = "ABCDEF"[: rng.randint(3, 6)]
    popularity = {c: rng.uniform(0.5, 1.5) for c in names}
    rankings = []
    for _ in range(rng.randint(15, 150)):
        order = sorted(names, key=lambda c: -popularity[c] * rng.random())
        rankings.append(tuple(order[: rng.randint(1, len(names))]))
    return names, rankings


def our_count(names: str, rankings: list[tuple[str, ...]]):
    contest = Contest(id="d", method="instant-runoff", candidates=tuple(Candidate(c) for c in names))
    multiset = Counter(tuple((c, r) for r, c in enumerate(ranking, start=1)) for ranking in rankings)
    return METHODS["instant-runoff"].count(contest, multiset)


def their_winner(names: str, rankings: list[tuple[str, ...]]) -> str:
    candidates = {c: pyrankvote.Candidate(c) for c in names}
    ballots = [pyrankvote.Ballot(ranked_candidates=[candidates[c] for c in ranking]) for ranking in rankings]
    (winner,) = pyrankvote.instant_runoff_voting(list(candidates.values()), ballots).get_winners()
    return winner.name


def same_rule_applies(outcome) -> bool:
    """No tie anywhere and nobody ever at exactly half: where both methods define the same rule."""
    if outcome.ties:
        return False
    return all(2 * votes != sum(r.tallies.values()) for r in outcome.rounds for votes in r.tallies.values())


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_winners_agree_with_pyrankvote_wherever_no_tie_decides(chunk):
    compared = multi_round = 0
    for seed in range(chunk * PER_CHUNK, (chunk + 1) * PER_CHUNK):
        names, rankings = random_election(seed)
        outcome = our_count(names, rankings)
        if not same_rule_applies(outcome):
            continue
        compared += 1
        multi_round += len(outcome.rounds) >= 3
        assert outcome.winners == [their_winner(names, rankings)], f"seed {seed}"
    # the filter must leave enough elections in, transfers included, or this test proves little
    assert compared >= PER_CHUNK // 2, f"only {compared} of {PER_CHUNK} elections were comparable"
    assert multi_round >= PER_CHUNK // 5, f"only {multi_round} compared elections had three rounds or more"
