"""Flower on a real tally: a real `celery flower` process (basic auth, loopback) watching two real
workers; its HTTP API shows every task with readable arguments, SUCCESS and a result that says what
it is (an area task: each of its areas with the ballots counted there), and, while a contest step
runs, the stage it is at, while an area task runs, the area it has just counted (custom
`task-progress` events); without credentials the API answers 401."""

from __future__ import annotations

import ast
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode

import pytest

from tests import factories as f
from tests.support import BIN, wait_for

pytestmark = pytest.mark.integration

AUTH = "operator:s3cret-pw"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Flower:
    def __init__(self, stack, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.stack = stack

    def get(self, path: str, auth: bool = True) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path)
        if auth:
            request.add_header("Authorization", "Basic " + b64encode(AUTH.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def json(self, path: str):
        status, body = self.get(path)
        assert status == 200, (status, body[:500])
        return json.loads(body)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus metric's samples whose labels include `labels`."""
        total = 0.0
        for line in self.get("/metrics")[1].splitlines():
            match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
            if match and all(f'{k}="{v}"' in match[1] for k, v in labels.items()):
                total += float(match[2])
        return total


def _start_flower(stack) -> Flower:
    port = _free_port()
    stack._spawn("flower", [str(BIN / "celery"), "-A", "worker.app", "flower", f"--port={port}",
                            "--address=127.0.0.1", f"--basic-auth={AUTH}", "--persistent=False"])
    flower = Flower(stack, port)

    def up():
        if stack.processes["flower"].poll() is not None:
            raise RuntimeError(f"flower exited: {stack.log('flower')[-2000:]}")
        try:
            return flower.get("/healthcheck", auth=False)[0] == 200
        except OSError:
            return False

    wait_for(up, 30, what="flower to listen")
    return flower


def flower_watching_workers(stack, names=("w1", "w2")) -> Flower:
    """A Flower watching workers `names`, started after it, with their task events on: Flower consumes
    events once it has seen the workers' heartbeats; workers send task events only once Flower has
    turned them on (it does so every 5 s, for workers started after it)."""
    flower = _start_flower(stack)
    for name in names:
        stack.start_worker(name)
    wait_for(lambda: flower.metric("flower_worker_online") >= len(names), 30, what="flower to see the workers")
    wait_for(lambda: all("enabled by remote" in stack.log(w) for w in names), 30,
             what="flower to turn task events on in the workers")
    return flower


class StageWatcher:
    """Polls Flower's task list for the contest steps while the tally runs: every (task, state,
    result) it sees, so the stages reported *during* a task can be checked afterwards."""

    def __init__(self, flower: Flower):
        self.flower = flower
        self.seen: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for uuid, task in self.flower.json("/api/tasks?taskname=tally.aggregate_contest").items():
                    self.seen.add((uuid, task["state"], str(task["result"])))
            except (OSError, AssertionError, ValueError):
                pass
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.mark.slow
def test_flower_shows_area_tasks_by_contest_areas_state_and_progress(stack):
    definition = f.election("flower-1", [
        f.contest("council", "plurality-at-large", candidates=4, seats=2, max_votes=2),
        f.contest("mayor", "instant-runoff", candidates=3),
        # a contest step long enough to be watched: Meek STV over pooled ballots, for the contest and
        # for each of its area subtrees
        f.contest("board", "meek-stv", candidates=7, seats=3),
    ], areas=f.area_tree((6, 6)))
    ballots = f.random_ballots(definition, 6000, seed=13)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    # About 140 ballots an area: area tasks of about ten areas, five or so per contest.
    stack.env["TALLY_BATCH_BALLOTS"] = "1500"
    flower = flower_watching_workers(stack)

    with StageWatcher(flower) as watcher:
        out = stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "120").stdout
        finals = wait_for(lambda: [t for t in flower.json("/api/tasks?taskname=tally.finalize").values()
                                   if t["state"] == "SUCCESS"], 30, what="flower to show finalize")
    assert "Winners:" in out

    areas = [a["id"] for a in definition["areas"]]
    contests = ("council", "mayor", "board")
    argsrepr = re.compile(r"^\(run=1, flower-1/main/(council|mayor|board)/([^/ ]+)(\.\.[^/ ]+ \((\d+) areas\))?\)$")

    def area_tasks():
        tasks = flower.json("/api/tasks?taskname=tally.process_areas&limit=1000")
        results = [ast.literal_eval(t["result"]) for t in tasks.values() if t["state"] == "SUCCESS"]
        if len(results) == len(tasks) and sum(r["ballots_counted"] for r in results) == len(ballots):
            return tasks
        return None

    tasks = wait_for(area_tasks, 30, what="flower to show every area task SUCCESS")
    assert {t["worker"].split("@")[0] for t in tasks.values()} == {"w1", "w2"}
    assert all(t["name"] == "tally.process_areas" and t["runtime"] is not None for t in tasks.values())
    # Each task by its contest and areas ("(run=1, flower-1/main/mayor/a1.1..a1.6 (10 areas))"); its
    # result names each area with the ballots counted there: every area of every contest once.
    counted = {}
    for t in tasks.values():
        match = argsrepr.match(t["args"])
        assert match, t["args"]
        result = ast.literal_eval(t["result"])
        assert len(result["areas"]) == int(match[4] or 1) and next(iter(result["areas"])) == match[2]
        assert result["ballots_counted"] == sum(result["areas"].values())
        counted.update({(match[1], area): n for area, n in result["areas"].items()})
    assert set(counted) == {(c, a) for c in contests for a in areas} and sum(counted.values()) == len(ballots)
    several = sum(1 for t in tasks.values() if argsrepr.match(t["args"])[4])
    assert several and len(tasks) < len(counted)

    info = flower.json(f"/api/task/info/{next(iter(tasks))}")
    assert argsrepr.match(info["args"]) and info["state"] == "SUCCESS"
    steps = flower.json("/api/tasks?taskname=tally.aggregate_contest")
    assert {t["args"] for t in steps.values()} == {f"(run=1, flower-1/main/{c})" for c in contests}
    assert sorted(ast.literal_eval(t["result"])["finalize_sent"] for t in steps.values()) == [False, False, True]
    starts = flower.json("/api/tasks?taskname=tally.start")
    assert [(t["args"], t["state"], ast.literal_eval(t["result"])) for t in starts.values()] == [
        ("(run=1)", "SUCCESS", {"contests": 3, "area_tasks": len(tasks), "areas": len(counted)})]
    assert [(t["args"], ast.literal_eval(t["result"])) for t in finals] == [("(run=1)", {"published": True})]

    # Progress: the contest steps reported their stages while they ran (Flower showed them as the
    # task's state and result before SUCCESS), and each area task of several areas the area it had
    # just counted, after its first (tasks/tally.py: at most one a second after that).
    wait_for(lambda: flower.metric("flower_events_total", task="tally.aggregate_contest", type="task-progress")
             >= 4 * len(contests), 15, what="the contest steps' progress events")
    wait_for(lambda: flower.metric("flower_events_total", task="tally.process_areas", type="task-progress")
             >= several, 15, what="the area tasks' progress events")
    during = {result for _, state, result in watcher.seen if state == "PROGRESS"}
    assert during, f"no stage seen during a contest step: {sorted(watcher.seen)[:20]}"
    stages = ("reading the staged area results", "area and subtree results", "counting the contest",
              "storing the contest result")
    assert all(text.startswith(stages) for text in during), during
    print(f"stages seen in Flower during the contest steps: {sorted(during)}")

    status, _ = flower.get("/api/tasks", auth=False)
    assert status == 401
    status, _ = flower.get("/api/tasks?taskname=tally.process_areas", auth=False)
    assert status == 401
    request = urllib.request.Request(flower.base + "/api/tasks")
    request.add_header("Authorization", "Basic " + b64encode(b"operator:wrong").decode())
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(request, timeout=10)
    assert denied.value.code == 401
