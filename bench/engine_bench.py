"""Engine throughput: `counting.count` on a million ballots already in memory, per method.

    .venv/bin/python bench/engine_bench.py [--ballots N] [--seed S] [--sample N]

Ballots are random rankings of 10 candidates, 1 to 5 ranks long, drawn (seeded) from a Plackett–Luce
model with skewed candidate strengths, a third of them copying one of a few party slates, so that many
ballots repeat as they do in real elections. Each method counts the ballots its ballot kind derives
from the rankings: first choices for plurality and approval, 3-2-1 points for cumulative, the ranks
for ranked methods, the implied (winner, loser) pairs for pairwise-beta. pyrankvote's instant-runoff
is timed on a sample and extrapolated per ballot. Each figure is the fastest of `--repeat`
runs. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from typing import Callable, Sequence

from counting import METHODS, Ballot, Candidate, Contest, count

CANDIDATES = tuple(f"c{i}" for i in range(10))
STRENGTHS = (30, 22, 15, 10, 8, 6, 4, 2.5, 1.5, 1)
LENGTHS, LENGTH_WEIGHTS = (1, 2, 3, 4, 5), (15, 15, 20, 15, 35)
SLATES, SLATE_SHARE = 6, 0.35

Ranking = tuple[str, ...]


def rankings(n: int, seed: int) -> list[Ranking]:
    """Plackett–Luce rankings (an exponential race: lower arrival time ranks higher), plus slate copies."""
    rng = random.Random(seed)

    def race(length: int) -> Ranking:
        arrival = sorted((rng.expovariate(s), c) for c, s in zip(CANDIDATES, STRENGTHS))
        return tuple(c for _, c in arrival[:length])

    slates = [race(5) for _ in range(SLATES)]
    interned: dict[Ranking, Ranking] = {}
    out = []
    for length in rng.choices(LENGTHS, LENGTH_WEIGHTS, k=n):
        ranking = rng.choice(slates)[:length] if rng.random() < SLATE_SHARE else race(length)
        out.append(interned.setdefault(ranking, ranking))
    return out


def ranks(r: Ranking):
    return tuple((c, i + 1) for i, c in enumerate(r))


def first_choice(r: Ranking):
    return ((r[0], 1),)


def points(r: Ranking):
    return tuple((c, 3 - i) for i, c in enumerate(r[:3]))


def pairs(r: Ranking):
    return tuple((w, lose) for i, w in enumerate(r) for lose in r[i + 1 :])


# method -> (marks derived from a ranking, contest settings)
PLAN: dict[str, tuple[Callable, dict]] = {
    "plurality-at-large": (first_choice, {"max_votes": 1}),
    "approval": (first_choice, {}),
    "cumulative": (points, {"seats": 3, "max_votes": 3, "options": {"checks": 3}}),
    "instant-runoff": (ranks, {"max_votes": 5}),
    "meek-stv": (ranks, {"seats": 3, "max_votes": 5}),
    "borda": (ranks, {"seats": 3, "max_votes": 5}),
    "borda-nauru": (ranks, {"seats": 3, "max_votes": 5}),
    "borda-mas-madrid": (ranks, {"seats": 3, "max_votes": 5}),
    "desborda": (ranks, {"seats": 4, "max_votes": 5}),
    "desborda2": (ranks, {"seats": 4, "max_votes": 5}),
    "desborda3": (ranks, {"seats": 4, "max_votes": 5}),
    "pairwise-beta": (pairs, {}),
}


def contest(method: str, settings: dict) -> Contest:
    candidates = tuple(
        Candidate(c, name=f"Candidate {c}", category=f"team-{i % 3}", gender="FM"[i % 2], tie_break_key=i)
        for i, c in enumerate(CANDIDATES)
    )
    return Contest(id="bench", method=method, candidates=candidates, **settings)


def ballots_for(derive: Callable, orderings: Sequence[Ranking]) -> list[Ballot]:
    """One Ballot object per record, as a parser would hand them over (marks shared per distinct ranking)."""
    marks = {r: derive(r) for r in set(orderings)}
    return [Ballot(marks=marks[r]) for r in orderings]


def best_of(repeat: int, run: Callable) -> tuple[float, object]:
    """The fastest of `repeat` runs (after a collection, so one run's garbage is not the next's cost)."""
    timings = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        value = run()
        timings.append(time.perf_counter() - started)
    return min(timings), value


def time_engine(orderings: Sequence[Ranking], repeat: int) -> dict[str, dict | None]:
    figures: dict[str, dict | None] = {}
    cache: dict[Callable, list[Ballot]] = {}
    for method, (derive, settings) in PLAN.items():
        if method not in METHODS:
            print(f"{method:20} not available")
            figures[method] = None
            continue
        ballots = cache.setdefault(derive, ballots_for(derive, orderings))
        seconds, result = best_of(repeat, lambda: count(contest(method, settings), ballots))
        figures[method] = {"seconds": round(seconds, 3), "ballots_per_second": round(len(ballots) / seconds)}
        print(f"{method:20} {len(ballots) / seconds:>12,.0f} ballots/s  {seconds:7.2f} s  winners {result.winners}")
    return figures


def time_pyrankvote(orderings: Sequence[Ranking], repeat: int) -> dict:
    import pyrankvote

    candidates = {c: pyrankvote.Candidate(c) for c in CANDIDATES}
    ballots = [pyrankvote.Ballot(ranked_candidates=[candidates[c] for c in r]) for r in orderings]
    seconds, result = best_of(repeat, lambda: pyrankvote.instant_runoff_voting(list(candidates.values()), ballots))
    ours = count(contest("instant-runoff", PLAN["instant-runoff"][1]), ballots_for(ranks, orderings)).winners
    theirs = [c.name for c in result.get_winners()]
    return {
        "sample": len(orderings),
        "seconds": round(seconds, 3),
        "ballots_per_second": round(len(orderings) / seconds),
        "same_winner_on_sample": ours == theirs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--sample", type=int, default=20_000, help="ballots for the pyrankvote timing")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the fastest is reported")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    orderings = rankings(args.ballots, args.seed)
    distinct = len(set(orderings))
    elapsed = time.perf_counter() - started
    print(f"{args.ballots:,} ballots ({distinct:,} distinct rankings), generated in {elapsed:.1f} s")
    figures = time_engine(orderings, args.repeat)
    reference = time_pyrankvote(orderings[: args.sample], args.repeat)
    print(
        f"{'pyrankvote IRV':20} {reference['ballots_per_second']:>12,.0f} ballots/s  "
        f"(timed on {reference['sample']:,} ballots in {reference['seconds']:.2f} s, extrapolated per ballot; "
        f"same winner as ours on the sample: {reference['same_winner_on_sample']})"
    )
    irv = figures.get("instant-runoff")
    ratio = round(irv["ballots_per_second"] / reference["ballots_per_second"], 1) if irv else None
    print(f"instant-runoff speed-up over pyrankvote: {ratio}x" if ratio else "instant-runoff: not available")
    summary = {"ballots": args.ballots, "distinct_rankings": distinct, "seed": args.seed, "repeat": args.repeat}
    summary["methods"] = figures
    summary.update(pyrankvote=reference, irv_speedup_over_pyrankvote=ratio)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
