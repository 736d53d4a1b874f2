"""From file to result: `tally count FILE` on a million-ballot interchange document, against the floor.

    .venv/bin/python bench/count_bench.py [--ballots N] [--seed S] [--repeat N] [--file PATH]

Writes (or reuses, with `--file`) an instant-runoff document of `--ballots` records over 10 candidates, the
rankings of `bench/engine_bench.py` (seeded; many records repeat, as in real elections), then times, in one run:
- the floor: `orjson.loads` of the file's bytes with the garbage collector off, reading included;
- `tally count FILE`, the installed command in its own process: wall time from start to exit, and its
  peak RSS (GNU time, `/usr/bin/time`), so interpreter start-up, imports and printing are all in it;
- pyrankvote reading the same file with the `json` module, building its ballots and counting (once: it
  takes tens of seconds), as a user of it would.
The orjson parse and `tally count` alternate, `--repeat` times each, and the fastest of each is kept, so
both see the same machine load. The command's output must equal `count_document` of the file read whole
(the engine's count, without the streaming reader), and pyrankvote's winner must equal ours. The last line
is every figure and ratio as JSON.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.engine_bench import CANDIDATES, PLAN, rankings, ranks
from counting.interchange import count_document

TALLY = Path(sys.executable).parent / "tally"
TIME = "/usr/bin/time"


def write_document(path: Path, n: int, seed: int) -> int:
    """The document as `json.dumps` writes it; returns the number of distinct rankings."""
    contest = {
        "id": "bench",
        "method": "instant-runoff",
        **PLAN["instant-runoff"][1],
        "candidates": [{"id": c, "name": f"Candidate {c}"} for c in CANDIDATES],
    }
    orderings = rankings(n, seed)
    texts = {r: json.dumps({"marks": ranks(r)}) for r in set(orderings)}
    with path.open("w") as handle:
        handle.write('{"contest": ' + json.dumps(contest) + ', "ballots": [')
        handle.write(", ".join(texts[r] for r in orderings))
        handle.write("]}")
    return len(texts)


def time_orjson(path: Path) -> float:
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        document = orjson.loads(path.read_bytes())
        seconds = time.perf_counter() - started
    finally:
        gc.enable()
    del document
    gc.collect()
    return seconds


def time_tally_count(path: Path) -> tuple[float, int, bytes]:
    """Wall seconds, peak RSS in bytes and standard output of `tally count FILE`.

    The peak comes from GNU time (`wait4` on its own child): a child forked from this large process
    would report this process's peak, which the kernel keeps across the child's `exec`."""
    started = time.perf_counter()
    run = subprocess.run([TIME, "-f", "%M", str(TALLY), "count", str(path)], capture_output=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"tally count exited {run.returncode}: {run.stderr.decode()}")
    return seconds, int(run.stderr.split()[-1]) * 1024, run.stdout


def time_pyrankvote(path: Path) -> tuple[float, list[str]]:
    """pyrankvote as its user would run it on the file: json module, its ballots, instant-runoff."""
    import pyrankvote

    gc.collect()
    started = time.perf_counter()
    with path.open("rb") as handle:
        document = json.load(handle)
    candidates = {c["id"]: pyrankvote.Candidate(c["id"]) for c in document["contest"]["candidates"]}
    ballots = [
        pyrankvote.Ballot(ranked_candidates=[candidates[c] for c, _ in sorted(b["marks"], key=lambda m: m[1])])
        for b in document["ballots"]
    ]
    result = pyrankvote.instant_runoff_voting(list(candidates.values()), ballots)
    seconds = time.perf_counter() - started
    return seconds, [c.name for c in result.get_winners()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the orjson parse and of tally count")
    parser.add_argument("--file", type=Path, help="where to write the document (kept); default a temporary file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        path = args.file or Path(scratch) / "ballots.json"
        distinct = write_document(path, args.ballots, args.seed)
        size = path.stat().st_size
        print(f"{args.ballots:,} ballots ({distinct:,} distinct rankings): {size / 1e6:.1f} MB")

        parse_s, count_s, rss, output = [], [], [], b""
        for _ in range(args.repeat):
            parse_s.append(time_orjson(path))
            seconds, peak, output = time_tally_count(path)
            count_s.append(seconds)
            rss.append(peak)
            print(f"orjson parse (gc off) {parse_s[-1]:.2f} s; tally count {seconds:.2f} s, peak RSS {peak / 1e6:.0f} MB")

        gc.disable()
        expected = count_document(orjson.loads(path.read_bytes()))
        gc.enable()
        same_result = json.loads(output) == expected
        reference_s, their_winners = time_pyrankvote(path)
        same_winner = their_winners == expected["winners"]
        print(f"pyrankvote (json module, its ballots, IRV): {reference_s:.2f} s; same winner: {same_winner}")

    summary = {
        "ballots": args.ballots,
        "distinct_rankings": distinct,
        "seed": args.seed,
        "repeat": args.repeat,
        "file_bytes": size,
        "orjson_parse_gc_off_seconds": round(min(parse_s), 3),
        "tally_count_seconds": round(min(count_s), 3),
        "tally_count_peak_rss_bytes": max(rss),
        "pyrankvote_seconds": round(reference_s, 3),
        "count_over_orjson_parse": round(min(count_s) / min(parse_s), 2),
        "pyrankvote_over_count": round(reference_s / min(count_s), 1),
        "peak_rss_over_file": round(max(rss) / size, 2),
        "same_result_as_whole_read": same_result,
        "same_winner_as_pyrankvote": same_winner,
    }
    print(
        f"tally count: {summary['count_over_orjson_parse']}x the orjson parse, "
        f"{summary['pyrankvote_over_count']}x faster than pyrankvote, peak RSS {summary['peak_rss_over_file']}x the file"
    )
    print(json.dumps(summary, sort_keys=True))
    if not (same_result and same_winner):
        raise SystemExit("the count differs")


if __name__ == "__main__":
    main()
