"""Engine throughput: `counting.count` on a million ballots already in memory, per method.

    .venv/bin/python bench/engine_bench.py [--ballots N] [--seed S] [--repeat N] [--reference-ballots N]

Ballots are random rankings of 10 candidates, 1 to 5 ranks long, drawn (seeded) from a Plackett–Luce
model with skewed candidate strengths, a third of them copying one of a few party slates, so that many
ballots repeat as they do in real elections. Each method counts the ballots its ballot kind derives
from the rankings: first choices for plurality and approval, 3-2-1 points for cumulative, the ranks
for ranked methods, the implied (winner, loser) pairs for pairwise-beta.

Every method is timed on two lists of the same ballots, one `Ballot` object per record in both:
- shared: as the generator builds them, identical ballots share one marks tuple (the generator
  derives the marks once per distinct ranking);
- parsed: as `tally count` loads them, every record parsed from JSON by `parse_ballot`, so no two
  ballots share a marks tuple, a mark or even a candidate id string.

pyrankvote's instant-runoff counts the same rankings (its own `Ballot` objects, built before the
clock starts, as ours are): its full run on `--reference-ballots` ballots (default: all of them) is
timed, unless a probe on 20,000 ballots predicts more than a minute, in which case it is timed on
100,000 and extrapolated per ballot (the output says so). Instant-runoff's time is also split into
its stages (grouping identical records, classifying the distinct ballots, counting the rounds).
Each figure is the fastest of `--repeat` runs. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from functools import partial
from typing import Callable, Sequence

from counting import METHODS, Ballot, Candidate, Contest, count, decide, parse_ballots
from counting.count import group_ballots
from counting.validation import classify

CANDIDATES = tuple(f"c{i}" for i in range(10))
STRENGTHS = (30, 22, 15, 10, 8, 6, 4, 2.5, 1.5, 1)
LENGTHS, LENGTH_WEIGHTS = (1, 2, 3, 4, 5), (15, 15, 20, 15, 35)
SLATES, SLATE_SHARE = 6, 0.35

Ranking = tuple[str, ...]


def rankings(n: int, seed: int) -> list[Ranking]:
    """Plackett–Luce rankings (an exponential race: lower arrival time ranks higher), plus slate copies."""
    rng = random.Random(seed)

    def race(length: int) -> Ranking:
        arrival = sorted((rng.expovariate(s), c) for c, s in zip(CANDIDATES, STRENGTHS, strict=True))
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


def shared_ballots(derive: Callable, orderings: Sequence[Ranking]) -> list[Ballot]:
    """One Ballot object per record; the marks are derived once per distinct ranking and shared."""
    marks = {r: derive(r) for r in set(orderings)}
    return [Ballot(marks=marks[r]) for r in orderings]


def parsed_ballots(derive: Callable, orderings: Sequence[Ranking]) -> list[Ballot]:
    """One Ballot object per record, each parsed from its own JSON record: nothing shared."""
    text = json.dumps([{"marks": derive(r)} for r in orderings])
    return parse_ballots(json.loads(text))


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
    figures: dict[str, dict | None] = {method: None for method in PLAN}
    n = len(orderings)
    print(f"{'method':20} {'shared marks':>14} {'parsed records':>16}   winners")
    for derive in dict.fromkeys(d for d, _ in PLAN.values()):  # build each kind of ballots once
        lists = {"shared": shared_ballots(derive, orderings), "parsed": parsed_ballots(derive, orderings)}
        for method, (d, settings) in PLAN.items():
            if d is not derive:
                continue
            if method not in METHODS:
                print(f"{method:20} not available")
                continue
            figures[method] = {}
            results = {}
            for name, ballots in lists.items():
                seconds, results[name] = best_of(
                    repeat, lambda m=method, s=settings, b=ballots: count(contest(m, s), b))
                figures[method][name] = {"seconds": round(seconds, 4), "ballots_per_second": round(n / seconds)}
            assert results["shared"].to_json() == results["parsed"].to_json(), method
            print(
                f"{method:20} {figures[method]['shared']['ballots_per_second']:>12,}/s "
                f"{figures[method]['parsed']['ballots_per_second']:>14,}/s   {results['shared'].winners}"
            )
        del lists
        gc.collect()
    return figures


def irv_stages(orderings: Sequence[Ranking], repeat: int) -> dict[str, dict[str, float]]:
    """Where instant-runoff's time goes: grouping records, classifying distinct ballots, the count."""
    irv = contest("instant-runoff", PLAN["instant-runoff"][1])
    stages = {}
    for name, build in (("shared", shared_ballots), ("parsed", parsed_ballots)):
        ballots = build(ranks, orderings)
        # partial binds the lists now; a closure would read names the loop rebinds and deletes
        group_s, (plain, others) = best_of(repeat, partial(group_ballots, ballots))
        classify_s, classification = best_of(repeat, partial(classify, irv, others, plain))
        decide_s, _ = best_of(repeat, partial(decide, irv, classification.valid))
        stages[name] = {"group": round(group_s, 4), "classify": round(classify_s, 4), "decide": round(decide_s, 4)}
        print(
            f"instant-runoff stages, {name}: group records {group_s * 1000:.0f} ms, "
            f"classify {len(plain) + len(others):,} distinct ballots {classify_s * 1000:.0f} ms, "
            f"count rounds {decide_s * 1000:.0f} ms"
        )
        del ballots
    return stages


def time_pyrankvote(orderings: Sequence[Ranking], repeat: int, ballots: int | None) -> dict:
    import pyrankvote

    candidates = {c: pyrankvote.Candidate(c) for c in CANDIDATES}
    field = list(candidates.values())

    def run(sample: Sequence[Ranking], times: int) -> tuple[float, list[str]]:
        prepared = [pyrankvote.Ballot(ranked_candidates=[candidates[c] for c in r]) for r in sample]
        seconds, result = best_of(times, lambda: pyrankvote.instant_runoff_voting(field, prepared))
        return seconds, [c.name for c in result.get_winners()]

    timed = orderings[:ballots] if ballots else orderings
    probe_seconds, _ = run(timed[:20_000], 1)
    extrapolated = probe_seconds / min(len(timed), 20_000) * len(timed) > 60
    if extrapolated:
        timed = timed[:100_000]
    seconds, theirs = run(timed, repeat)
    ours = count(contest("instant-runoff", PLAN["instant-runoff"][1]), shared_ballots(ranks, timed)).winners
    return {
        "ballots": len(timed),
        "seconds": round(seconds, 4),
        "ballots_per_second": round(len(timed) / seconds),
        "extrapolated": extrapolated,
        "same_winner": ours == theirs,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the fastest is reported")
    parser.add_argument(
        "--reference-ballots", type=int, default=None, help="ballots for pyrankvote's timing (default: all)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    orderings = rankings(args.ballots, args.seed)
    distinct = len(set(orderings))
    elapsed = time.perf_counter() - started
    print(f"{args.ballots:,} ballots ({distinct:,} distinct rankings), generated in {elapsed:.1f} s")
    figures = time_engine(orderings, args.repeat)
    stages = irv_stages(orderings, args.repeat) if "instant-runoff" in METHODS else None
    reference = time_pyrankvote(orderings, args.repeat, args.reference_ballots)
    how = (
        "timed on {ballots:,} ballots and extrapolated per ballot"
        if reference["extrapolated"]
        else "full run on {ballots:,} ballots"
    ).format(**reference)
    print(
        f"{'pyrankvote IRV':20} {reference['ballots_per_second']:>12,}/s "
        f"({how}: {reference['seconds']:.2f} s; same winner as ours: {reference['same_winner']})"
    )
    irv = figures.get("instant-runoff")
    speedup = None
    if irv:
        speedup = {
            name: round(irv[name]["ballots_per_second"] / reference["ballots_per_second"], 1) for name in irv
        }
        print(
            f"instant-runoff speed-up over pyrankvote: {speedup['shared']}x (shared marks), "
            f"{speedup['parsed']}x (parsed records)"
        )
    else:
        print("instant-runoff: not available")
    summary = {"ballots": args.ballots, "distinct_rankings": distinct, "seed": args.seed, "repeat": args.repeat}
    summary["methods"] = figures
    summary["instant_runoff_stages"] = stages
    summary.update(pyrankvote=reference, irv_speedup_over_pyrankvote=speedup)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main()
