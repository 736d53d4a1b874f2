"""The whole distributed tally on the local PostgreSQL and Redis: load, tally, compare with COPY.

    .venv/bin/python bench/pipeline_bench.py [--ballots 1000000] [--areas 1000] [--workers 2]
    .venv/bin/python bench/pipeline_bench.py --ballots 200000 --area-overhead 100 10000
    .venv/bin/python bench/pipeline_bench.py --ballots 10000000 --scale-out

Creates a scratch database and starts a redis-server of its own on a free port (both removed afterwards), loads one
instant-runoff contest of N ranked ballots over 10 candidates in M areas through the project's own
loader, starts W `celery worker` processes, and times the tally from enqueue to committed results:
`tally_seconds` is the run's `completed_at - created_at`, both written by the pipeline itself
(`tally_wall_seconds` adds starting the `tally advance` command and polling the database; nothing
ever waits on Celery results). In the same run it times `COPY (SELECT area_id, marks FROM ballots)
TO '/dev/null'` in the server (`copy_seconds`) and the same COPY streamed to this client
(`copy_stdout_seconds`) and prints the ratios, the workers' peak RSS, and checks the published
result against the engine's count. Beside each tally, on the same workers and Redis, it times Celery's
own no-op chord (`celery.accumulate`, a task every worker has, `--noop-tasks` of them in the header):
`noop_task_ms` is what Celery alone costs per header task. It also prints the CPU seconds the tally
took in the workers (pool and consumer processes) and in Redis, so a tally that does not scale shows
where its time goes. `--area-overhead FEW MANY` tallies the same ballots in FEW and in MANY areas:
the per-area cost is the difference over the extra areas. `--scale-out` tallies the same ballots with
one worker node and with two (one process each, as on two machines) and prints the speed-up. Last
line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
from celery import Celery, chord  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

import counting  # noqa: E402
from bench.engine_bench import rankings  # noqa: E402
from models import entities as m  # noqa: E402
from models.db import session_scope  # noqa: E402
from services.loading import load_ballots, load_definition  # noqa: E402
from services.results import published  # noqa: E402
from tests.support import Stack, own_redis, postgres_database, wait_for  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ballots", type=int, default=1_000_000)
    parser.add_argument("--areas", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noop-tasks", type=int, default=1000, help="header tasks of the no-op chord")
    parser.add_argument("--area-overhead", nargs=2, type=int, metavar=("FEW", "MANY"),
                        help="tally the same ballots in FEW and in MANY areas and print the per-area overhead")
    parser.add_argument("--watched", action="store_true",
                        help="turn the workers' task events on before the tally, as Flower does when it watches")
    parser.add_argument("--scale-out", action="store_true",
                        help="tally the same ballots with 1 worker node and with 2, and print the speed-up")
    args = parser.parse_args()
    if args.area_overhead:
        few, many = (run(args.ballots, n, args.workers, args.seed, args.noop_tasks, args.watched) for n in args.area_overhead)
        results = [few, many]
        figures = {"few": few, "many": many, "per_area_overhead_ms": round(
            1000 * (many["tally_seconds"] - few["tally_seconds"]) / (many["areas"] - few["areas"]), 2),
            "noop_task_ms": min(few["noop_task_ms"], many["noop_task_ms"])}
    elif args.scale_out:
        one, two = (run(args.ballots, args.areas, n, args.seed, args.noop_tasks, args.watched) for n in (1, 2))
        results = [one, two]
        figures = {"one_node": one, "two_nodes": two,
                   "scale_out_speedup": round(one["tally_seconds"] / two["tally_seconds"], 2)}
    else:
        figures = run(args.ballots, args.areas, args.workers, args.seed, args.noop_tasks, args.watched)
        results = [figures]
    for key, value in figures.items():
        print(f"{key:28} {value}")
    print(json.dumps(figures, sort_keys=True))
    if not all(r["equals_engine_count"] for r in results):
        sys.exit("the pipeline's result differs from the engine's count")


def noop_chord_ms(broker: str, tasks: int) -> float:
    """Celery's own cost per header task: a chord of `tasks` no-op tasks (`celery.accumulate`) joined
    into one more, sent by this process to the tally's workers, timed from sending to the body's
    result (only the body's own result is polled; joining a chord's result would poll every header)."""
    from worker.app import app as tally_app

    client = Celery("bench", broker=broker, backend=broker)
    client.conf.update({key: tally_app.conf[key] for key in (
        "task_serializer", "result_serializer", "accept_content", "task_send_sent_event", "task_default_queue",
        "task_acks_late", "result_extended")})
    noop = client.signature("celery.accumulate")
    started = time.perf_counter()
    body = chord([noop.clone(args=(i,)) for i in range(tasks)], noop.clone())()
    wait_for(body.ready, timeout=3600, interval=0.05, what="the no-op chord")
    seconds = time.perf_counter() - started
    body.forget()
    return round(1000 * seconds / tasks, 3)


def postgres_backends(url: str) -> list[psutil.Process]:
    """The PostgreSQL server processes serving this database (their title names it)."""
    database = url.rsplit("/", 1)[1].split("?")[0]
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres:") and f" {database} " in f"{title} ":
            found.append(process)
    return found


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            for p in [process] + process.children(recursive=True):
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            pass
    return total


def copy_times(url: str) -> dict:
    """The bare read of the same ballots, the fastest of two runs each: `COPY (SELECT area_id, marks
    FROM ballots) TO '/dev/null'` in the server (as issue 7 defines it), and the same rows streamed
    to this client."""
    query = "COPY (SELECT area_id, marks FROM ballots) TO {}"

    def devnull(raw):
        raw.execute(query.format("'/dev/null'"))

    def stdout(raw):
        with raw.cursor().copy(query.format("STDOUT")) as copy:
            for _ in copy:
                pass

    figures = {}
    with session_scope(url) as session:
        raw = session.connection().connection.driver_connection
        for name, read in (("copy_seconds", devnull), ("copy_stdout_seconds", stdout)):
            times = []
            for _ in range(2):
                started = time.perf_counter()
                read(raw)
                times.append(time.perf_counter() - started)
            figures[name] = round(min(times), 3)
    return figures


def run(ballots: int, areas: int, workers: int, seed: int, noop_tasks: int, watched: bool) -> dict:
    """One benchmark: a scratch database and Redis DB, load, tally with `workers` processes."""
    args = argparse.Namespace(ballots=ballots, areas=areas, workers=workers, seed=seed)
    names = [f"c{i}" for i in range(10)]
    definition = {
        "election": {"id": "bench", "name": "Benchmark"},
        "voting_periods": [{"name": "main", "ends_at": "2020-01-01T00:00:00Z", "seal": "at-close"}],
        "areas": [{"id": "root", "census": 0}]
        + [{"id": f"a{i}", "parent": "root", "census": 1000} for i in range(args.areas)],
        "contests": [{"id": "mayor", "method": "instant-runoff", "max_votes": 5,
                      "candidates": [{"id": c} for c in names],
                      "areas": [f"a{i}" for i in range(args.areas)]}],
    }
    ranks = rankings(args.ballots, args.seed)
    records = [{"contest": "mayor", "area": f"a{i % args.areas}", "marks": [[c, r + 1] for r, c in enumerate(rk)]}
               for i, rk in enumerate(ranks)]
    figures = {"ballots": args.ballots, "areas": args.areas, "workers": args.workers, "watched": watched}
    with postgres_database() as url, own_redis(Path("/tmp")) as redis_server:
        broker = redis_server.url
        with session_scope(url) as session:
            load_definition(session, definition)
        started = time.perf_counter()
        with session_scope(url) as session:
            load_ballots(session, "bench", "main", records)
        figures["load_seconds"] = round(time.perf_counter() - started, 3)
        figures["load_ballots_per_second"] = round(args.ballots / figures["load_seconds"])
        with session_scope(url) as session:
            session.execute(text("ANALYZE ballots"))
        figures.update(copy_times(url))
        workdir = Path("/tmp") / f"tally-bench-{int(time.time())}"
        workdir.mkdir()
        stack = Stack(url, broker, workdir)
        try:
            procs = [stack.start_worker(f"w{i}") for i in range(args.workers)]
            if watched:
                Celery(broker=broker).control.enable_events()
            peak = {f"w{i}": 0 for i in range(args.workers)}
            watched = [psutil.Process(proc.pid) for proc in procs]
            redis_process = psutil.Process(redis_server.proc.pid)
            cpu_before = [cpu_seconds(watched), cpu_seconds([redis_process])]
            backends = {p.pid: cpu_seconds([p]) for p in postgres_backends(url)}  # pid -> CPU, last seen
            backends_before = dict(backends)
            started = time.perf_counter()
            stack.tally("advance")

            def done():
                for process in postgres_backends(url):
                    backends[process.pid] = max(backends.get(process.pid, 0.0), cpu_seconds([process]))
                for i, proc in enumerate(procs):
                    try:
                        tree = [psutil.Process(proc.pid)] + psutil.Process(proc.pid).children(recursive=True)
                        peak[f"w{i}"] = max(peak[f"w{i}"], *(p.memory_info().rss for p in tree))
                    except psutil.Error:
                        pass
                with session_scope(url) as session:
                    return session.get(m.Election, 1).status == "tallied"

            wait_for(done, timeout=3600, interval=0.2, what="tally")
            figures["tally_wall_seconds"] = round(time.perf_counter() - started, 3)
            # other work on the machine: on 2 cores, a load above 2 leaves the tally less than all of them
            figures["load_average_1min"] = round(os.getloadavg()[0], 2)
            figures["tally_cpu_seconds"] = {
                "workers": round(cpu_seconds(watched) - cpu_before[0], 2),
                "redis": round(cpu_seconds([redis_process]) - cpu_before[1], 2),
                # this database's server processes, sampled as the tally is polled (a backend that ends
                # between two polls loses its last 0.2 s)
                "postgres": round(sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends.items()), 2),
            }
            figures["noop_task_ms"] = noop_chord_ms(broker, noop_tasks)
        finally:
            stack.stop()
        with session_scope(url) as session:
            run = session.scalar(select(m.TallyRun))
            figures["tally_seconds"] = round((run.completed_at - run.created_at).total_seconds(), 3)
        figures["tally_ballots_per_second"] = round(args.ballots / figures["tally_seconds"])
        figures["tally_over_copy"] = round(figures["tally_seconds"] / figures["copy_seconds"], 2)
        figures["tally_over_copy_stdout"] = round(figures["tally_seconds"] / figures["copy_stdout_seconds"], 2)
        figures["peak_rss_mb"] = {k: round(v / 2**20, 1) for k, v in peak.items()}
        with session_scope(url) as session:
            result = published(session, 1)["tallies"][0]["contests"][0]["result"]
        contest = counting.parse_contest({k: v for k, v in definition["contests"][0].items() if k != "areas"})
        expected = counting.count(contest, [counting.Ballot(tuple((c, r + 1) for r, c in enumerate(rk))) for rk in ranks])
        figures["equals_engine_count"] = (result["winners"], result.get("rounds")) == (
            expected.winners, expected.to_json().get("rounds"))
    return figures


if __name__ == "__main__":
    main()
