"""The whole distributed tally on the local PostgreSQL and Redis: load, tally, compare with COPY.

    .venv/bin/python bench/pipeline_bench.py --issue      # every figure of issue #19, one JSON line
    .venv/bin/python bench/pipeline_bench.py [--ballots 1000000] [--areas 1000] [--workers 2] [--watched]
    .venv/bin/python bench/pipeline_bench.py --ballots 200000 --area-overhead 100 10000
    .venv/bin/python bench/pipeline_bench.py --ballots 10000000 --scale-out

Creates a scratch database and starts a redis-server of its own on a free port (both removed afterwards),
writes a ballots file of one instant-runoff contest (N ranked ballots over 10 candidates in M areas) and
loads it with `tally load --ballots FILE` in a process of its own: `load_ballots_per_second`, and its
peak RSS (GNU time) against the file's size. Then it starts W `celery worker` nodes of one process
each and times the tally from enqueue to committed results: `tally_seconds` is the run's
`completed_at - created_at`, both written by the pipeline itself (`tally_wall_seconds` adds starting
the `tally` command and polling the database; nothing ever waits on Celery results). In the same run
it times `COPY (SELECT area_id, marks FROM ballots) TO '/dev/null'` in the server (`copy_seconds`) and
the same COPY streamed to this client, and prints the ratios, the workers' peak RSS, and whether the
published result equals the engine's count of the same ballots.

Beside each tally, on the same workers and Redis, it times Celery's own no-op chord (`celery.accumulate`,
a task every worker has, `--noop-tasks` of them in the header): `noop_task_ms` is what Celery alone
costs per header task. It prints the CPU seconds the tally took per kind of process (the workers' pool
processes, their consumer (main) processes, this database's PostgreSQL processes, Redis) and on the
whole machine, the seconds the workers spent in each kind of task (from their logs), and the load
average, so a tally that does not scale shows where its time goes.

`--area-overhead FEW MANY` tallies the same ballots in FEW and in MANY areas: the per-area cost is the
difference over the extra areas. `--scale-out` tallies the same ballots with one worker node and then
with two (the second a re-run of the same period after a rollback) and prints the speed-up and, below
1.6x, what serialises the work. `--issue` runs all of it at the issue's sizes (`--ballots`, `--large`,
`--overhead-ballots`) and prints each target beside its figure. Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from celery import Celery, chord
from sqlalchemy import select, text

import counting
from bench.engine_bench import rankings
from models import entities as m
from models.db import session_scope
from services.loading.definition import load_definition
from services.read.results import published
from tests.support import BIN, Stack, own_redis, postgres_database, wait_for

TIME = "/usr/bin/time"
CANDIDATES = [f"c{i}" for i in range(10)]
CONTEST = {"id": "mayor", "method": "instant-runoff", "max_votes": 5, "candidates": [{"id": c} for c in CANDIDATES]}
# Issue #19's targets: (figure, at most / at least, bound)
TARGETS = {
    "tally_over_copy_1M": ("<=", 5), "tally_over_copy_10M": ("<=", 3), "per_area_ms": ("<=", 1.5),
    "load_ballots_per_second_10M": (">=", 200_000), "load_rss_over_file_10M": ("<=", 2),
    "scale_out_speedup_10M": (">=", 1.6),
}


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
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment setting of the workers, e.g. TALLY_BATCH_BALLOTS=1 (repeatable)")
    parser.add_argument("--issue", action="store_true", help="every figure of issue #19 in one run")
    parser.add_argument("--large", type=int, default=10_000_000, help="--issue: ballots of the large run")
    parser.add_argument("--overhead-ballots", type=int, default=200_000, help="--issue: ballots of --area-overhead")
    args = parser.parse_args()
    if args.issue:
        figures = issue(args)
    elif args.area_overhead:
        figures = area_overhead(args, args.ballots, args.area_overhead)
    elif args.scale_out:
        figures = scale_out(args, args.ballots)
    else:
        figures = bench(args, args.ballots, args.areas, [args.workers])[0]
    for key, value in figures.items():
        print(f"{key:28} {summary(value) if isinstance(value, dict) and 'tally_seconds' in value else value}")
    print(json.dumps(figures, sort_keys=True))
    if not figures["equals_engine_count"]:
        sys.exit("the pipeline's result differs from the engine's count")


def summary(run: dict) -> str:
    """One tally's main figures on one line (the JSON line has them all)."""
    cpu = run["tally_cpu_seconds"]
    return (f"{run['ballots']:,} ballots / {run['areas']:,} areas / {run['workers']} node(s): tally {run['tally_seconds']} s, "
            f"COPY {run['copy_seconds']} s ({run['tally_over_copy']}x), no-op chord {run['noop_task_ms']} ms a task, "
            f"CPU s pool {cpu['pool']} consumer {cpu['consumer']} PostgreSQL {cpu['postgres']} Redis {cpu['redis']} "
            f"machine {cpu['machine']}, load {run['load_average_1min']}, equals the engine: {run['equals_engine_count']}")


def issue(args) -> dict:
    """Every figure of issue #19, each beside its target: 1M and 10M ballots in 1,000 areas on 2 nodes
    (the 10M ballots tallied again on 1 node: the scale-out), and the per-area cost."""
    started_load = round(os.getloadavg()[0], 2)
    one_m = bench(args, args.ballots, args.areas, [args.workers])[0]
    ten_m = scale_out(args, args.large)
    overhead = area_overhead(args, args.overhead_ballots, args.area_overhead or (100, 10_000))
    two = ten_m["two_nodes"]
    figures = {
        "machine": {"cores": os.cpu_count(), "load_average_1min_at_start": started_load},
        "pipeline_1M": one_m, "pipeline_10M": two, "one_node_10M": ten_m["one_node"], "area_overhead": overhead,
        "tally_over_copy_1M": one_m["tally_over_copy"], "tally_over_copy_10M": two["tally_over_copy"],
        "per_area_ms": overhead["per_area_overhead_ms"], "noop_task_ms": overhead["noop_task_ms"],
        "load_ballots_per_second_10M": two["load_ballots_per_second"], "load_rss_over_file_10M": two["load_rss_over_file"],
        "scale_out_speedup_10M": ten_m["scale_out_speedup"], "serialised_by": ten_m["serialised_by"],
        "equals_engine_count": one_m["equals_engine_count"] and ten_m["equals_engine_count"]
        and overhead["equals_engine_count"],
    }
    figures["targets"] = {
        name: {"figure": figures[name], "target": f"{op} {bound}",
               "met": figures[name] <= bound if op == "<=" else figures[name] >= bound}
        for name, (op, bound) in TARGETS.items()
    }
    return figures


def area_overhead(args, ballots: int, sizes) -> dict:
    few, many = (bench(args, ballots, n, [args.workers])[0] for n in sizes)
    return {
        "few": few, "many": many,
        "per_area_overhead_ms": round(1000 * (many["tally_seconds"] - few["tally_seconds"]) / (many["areas"] - few["areas"]), 3),
        # Celery's own cost per header task, measured beside each tally; the lower of the two
        "noop_task_ms": min(few["noop_task_ms"], many["noop_task_ms"]),
        "equals_engine_count": few["equals_engine_count"] and many["equals_engine_count"],
    }


def scale_out(args, ballots: int) -> dict:
    """The same ballots tallied on two nodes of one process each, then (after a rollback) on one."""
    two, one = bench(args, ballots, args.areas, [2, 1])
    speedup = round(one["tally_seconds"] / two["tally_seconds"], 2)
    return {"one_node": one, "two_nodes": two, "scale_out_speedup": speedup,
            "serialised_by": None if speedup >= 1.6 else what_serialises(one, two),
            "equals_engine_count": one["equals_engine_count"] and two["equals_engine_count"]}


def what_serialises(one: dict, two: dict) -> dict:
    """Why two nodes are not twice as fast as one, from the two runs' own figures:
    - the steps that run alone (tally.start, the contest step, finalize): Amdahl's bound with them;
    - the area phase (the rest of the 2-node tally): the cores its processes kept busy (the tally's CPU
      less the steps that run alone, taken as all CPU), beside the other work on the machine; at the
      machine's cores, the two nodes share them with each other and with PostgreSQL's grouped reads."""
    cores = os.cpu_count() or 1
    serial = sum(two["task_seconds"].get(t, 0.0) for t in ("tally.start", "tally.aggregate_contest", "tally.finalize"))
    parallel_one = max(one["tally_seconds"] - serial, 0.0)
    phase = max(two["tally_seconds"] - serial, 1e-9)
    cpu = two["tally_cpu_seconds"]
    tally_cpu = sum(cpu[k] for k in ("pool", "consumer", "postgres", "redis"))
    other = max(cpu["machine"] - tally_cpu, 0.0) / two["tally_wall_seconds"]
    found = {
        "serial_steps_seconds": round(serial, 2),
        "amdahl_bound_speedup": round(one["tally_seconds"] / (serial + parallel_one / 2), 2) if parallel_one else None,
        "area_phase_seconds": round(phase, 2),
        "area_phase_cores_busy_tally": round(max(tally_cpu - serial, 0.0) / phase, 2),
        "cores_busy_other_work": round(other, 2),
        "cpu_seconds_2_nodes": {k: cpu[k] for k in ("pool", "consumer", "postgres", "redis")},
        "cpu_seconds_1_node": {k: one["tally_cpu_seconds"][k] for k in ("pool", "consumer", "postgres", "redis")},
        "load_average_1min": two["load_average_1min"],
    }
    reasons = []
    if found["area_phase_cores_busy_tally"] + other >= 0.9 * cores:
        reasons.append(f"the machine's {cores} cores: in the area phase ({found['area_phase_seconds']} s) the pools and "
                       f"PostgreSQL kept {found['area_phase_cores_busy_tally']} cores busy and other work "
                       f"{found['cores_busy_other_work']}")
    if found["amdahl_bound_speedup"] is not None and found["amdahl_bound_speedup"] < 2:
        reasons.append(f"the steps that run alone: {found['serial_steps_seconds']} s of {two['tally_seconds']} s "
                       f"(at most {found['amdahl_bound_speedup']}x with them)")
    found["verdict"] = "; ".join(reasons) or "neither the cores nor the serial steps: see the CPU per process"
    return found


def definition(areas: int) -> dict:
    return {
        "election": {"id": "bench", "name": "Benchmark"},
        "voting_periods": [{"name": "main", "ends_at": "2020-01-01T00:00:00Z", "seal": "at-close"}],
        "areas": [{"id": "root", "census": 0}] + [{"id": f"a{i}", "parent": "root", "census": 1000} for i in range(areas)],
        "contests": [{**CONTEST, "areas": [f"a{i}" for i in range(areas)]}],
    }


def write_ballots(path: Path, ranks: list[tuple], areas: int) -> int:
    """The ballots file `tally load --ballots` reads, ballot i in area a{i % areas}; returns its bytes."""
    marks = {r: json.dumps([[c, i + 1] for i, c in enumerate(r)]) for r in set(ranks)}
    with path.open("w") as handle:
        handle.write('{"election": "bench", "period": "main", "ballots": [\n')
        for start in range(0, len(ranks), 100_000):
            handle.write(",\n".join(
                f'{{"contest": "mayor", "area": "a{i % areas}", "marks": {marks[ranks[i]]}}}'
                for i in range(start, min(start + 100_000, len(ranks)))
            ) + (",\n" if start + 100_000 < len(ranks) else "\n"))
        handle.write("]}\n")
    return path.stat().st_size


def load(url: str, path: Path, ballots: int) -> dict:
    """`tally load --ballots FILE` in a process of its own: its wall time and peak RSS (GNU time)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TALLY_"))}
    env["DATABASE_URL"] = url
    started = time.perf_counter()
    done = subprocess.run([TIME, "-f", "%M", str(BIN / "tally"), "load", "--ballots", str(path)],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"tally load failed: {done.stderr[-2000:]}")
    rss = int(done.stderr.split()[-1]) * 1024
    size = path.stat().st_size
    return {"load_seconds": round(seconds, 3), "load_ballots_per_second": round(ballots / seconds),
            "ballots_file_mb": round(size / 2**20, 1), "load_peak_rss_mb": round(rss / 2**20, 1),
            "load_rss_over_file": round(rss / size, 2), "load_average_1min_at_load": round(os.getloadavg()[0], 2)}


def bench(args, ballots: int, areas: int, nodes: list[int]) -> list[dict]:
    """Load `ballots` in `areas` areas once, then tally them once per entry of `nodes` (that many
    worker nodes of one process each; each tally after the first re-runs the period after a rollback)."""
    ranks = rankings(ballots, args.seed)
    out = []
    with postgres_database() as url, own_redis(Path("/tmp")) as redis_server:
        with session_scope(url) as session:
            load_definition(session, definition(areas))
        path = Path("/tmp") / f"tally-bench-{os.getpid()}-{ballots}.json"
        try:
            write_ballots(path, ranks, areas)
            loaded = load(url, path, ballots)
        finally:
            path.unlink(missing_ok=True)
        with session_scope(url) as session:
            session.execute(text("ANALYZE ballots"))
        copies = copy_times(url)
        expected = engine_count(ranks)
        for number, workers in enumerate(nodes):
            figures = {"ballots": ballots, "areas": areas, "workers": workers, "watched": args.watched,
                       "settings": args.setting, **loaded, **copies}
            figures.update(tally(url, redis_server, workers, args, first=number == 0))
            figures["tally_ballots_per_second"] = round(ballots / figures["tally_seconds"])
            figures["tally_over_copy"] = round(figures["tally_seconds"] / figures["copy_seconds"], 2)
            figures["tally_over_copy_stdout"] = round(figures["tally_seconds"] / figures["copy_stdout_seconds"], 2)
            figures["equals_engine_count"] = published_result(url) == expected
            out.append(figures)
    return out


def engine_count(ranks: list[tuple]) -> tuple:
    """The engine's count of every ballot (weight 1 each), as (winners, rounds)."""
    marks = {r: tuple((c, i + 1) for i, c in enumerate(r)) for r in set(ranks)}
    expected = counting.count(counting.parse_contest(CONTEST), [counting.Ballot(marks[r]) for r in ranks])
    return expected.winners, expected.to_json().get("rounds")


def published_result(url: str) -> tuple:
    with session_scope(url) as session:
        result = published(session, 1)["tallies"][0]["contests"][0]["result"]
    return result["winners"], result.get("rounds")


def tally(url: str, redis_server, workers: int, args, first: bool) -> dict:
    """One tally of the loaded period on `workers` fresh worker nodes: times, CPU, RSS, task seconds."""
    broker = redis_server.url
    workdir = Path("/tmp") / f"tally-bench-{os.getpid()}-{int(time.time() * 1000)}"
    workdir.mkdir()
    stack = Stack(url, broker, workdir, **dict(s.split("=", 1) for s in args.setting))
    figures = {}
    try:
        procs = [stack.start_worker(f"w{i}") for i in range(workers)]
        if args.watched:
            Celery(broker=broker).control.enable_events()
        if not first:
            stack.tally("rollback", "1", "1", "--reason", "benchmark: the same tally on another number of nodes")
        sampler = CpuSampler(url, [p.pid for p in procs], redis_server.proc.pid)
        stack.tally("advance" if first else "run", *(() if first else ("1", "1")))
        wait_for(lambda: sampler.sample() and tallied(url), timeout=7200, interval=0.2, what="tally")
        figures["tally_wall_seconds"] = round(time.perf_counter() - sampler.started, 3)
        # other work on the machine: on 2 cores, a load above 2 leaves the tally less than all of them
        figures["load_average_1min"] = round(os.getloadavg()[0], 2)
        figures["tally_cpu_seconds"] = sampler.totals()
        figures["peak_rss_mb"] = {f"w{i}": round(rss / 2**20, 1) for i, rss in enumerate(sampler.peak_rss)}
        figures["noop_task_ms"] = noop_chord_ms(broker, args.noop_tasks)
    finally:
        stack.stop()
    figures["task_seconds"], figures["tasks"] = task_seconds(workdir)
    with session_scope(url) as session:
        run = session.scalars(select(m.TallyRun).order_by(m.TallyRun.id.desc())).first()
        figures["tally_seconds"] = round((run.completed_at - run.created_at).total_seconds(), 3)
    return figures


def tallied(url: str) -> bool:
    with session_scope(url) as session:
        run = session.scalars(select(m.TallyRun).order_by(m.TallyRun.id.desc())).first()
        if run is not None and run.status == m.RunStatus.FAILED:
            sys.exit(f"the tally failed: {run.error}")
        return run is not None and run.status == m.RunStatus.COMPLETED


_SUCCEEDED = re.compile(r"Task (tally\.\w+)\[[^\]]+\] succeeded in ([0-9.e-]+)s")


def task_seconds(workdir: Path) -> tuple[dict, dict]:
    """Seconds the workers spent in each kind of task, and how many ran, from Celery's own log lines."""
    seconds: Counter = Counter()
    count: Counter = Counter()
    for log in workdir.glob("w*.log"):
        for match in _SUCCEEDED.finditer(log.read_text(errors="replace")):
            seconds[match[1]] += float(match[2])
            count[match[1]] += 1
    return {k: round(v, 3) for k, v in seconds.items()}, dict(count)


class CpuSampler:
    """CPU seconds per kind of process while the tally runs, sampled as it is polled: the workers'
    consumer (main) processes, their pool processes, this database's PostgreSQL processes, Redis; and
    the whole machine's busy time. A process that ends between two samples loses its last 0.2 s."""

    def __init__(self, url: str, worker_pids: list[int], redis_pid: int):
        self.database = url.rsplit("/", 1)[1].split("?")[0]
        self.workers = [psutil.Process(pid) for pid in worker_pids]
        self.redis = psutil.Process(redis_pid)
        self.peak_rss = [0] * len(worker_pids)
        self.seen: dict[tuple[str, int], float] = {}  # (kind, pid) -> CPU seconds, last seen
        self.before: dict[tuple[str, int], float] = {}
        self.sample()
        self.before = dict(self.seen)
        self.machine_before = busy(psutil.cpu_times())
        self.started = time.perf_counter()

    def processes(self):
        for i, worker in enumerate(self.workers):
            try:
                pool = worker.children(recursive=True)
                self.peak_rss[i] = max(self.peak_rss[i], *(p.memory_info().rss for p in [worker, *pool]))
            except psutil.Error:
                continue
            yield "consumer", worker
            yield from (("pool", p) for p in pool)
        yield "redis", self.redis
        for process in psutil.process_iter(["cmdline"]):
            title = " ".join(process.info["cmdline"] or [])
            if title.startswith("postgres:") and f" {self.database} " in f"{title} ":
                yield "postgres", process

    def sample(self) -> bool:
        for kind, process in self.processes():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            key = (kind, process.pid)
            self.seen[key] = max(self.seen.get(key, 0.0), times.user + times.system)
        return True

    def totals(self) -> dict:
        self.sample()
        out = dict.fromkeys(("pool", "consumer", "postgres", "redis"), 0.0)
        for (kind, pid), cpu in self.seen.items():
            out[kind] += cpu - self.before.get((kind, pid), 0.0)
        out["machine"] = busy(psutil.cpu_times()) - self.machine_before
        return {k: round(v, 2) for k, v in out.items()}


def busy(times) -> float:
    """CPU seconds the machine's cores were busy (Linux counts guest time inside user time)."""
    return sum(getattr(times, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))


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


if __name__ == "__main__":
    main()
