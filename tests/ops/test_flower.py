"""Flower on a real tally: a real `celery flower` process (basic auth, loopback) watching two real
workers; its HTTP API shows every area task with readable arguments, SUCCESS, and the custom
`task-progress` events; without credentials the API answers 401."""

from __future__ import annotations

import json
import re
import socket
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


def test_flower_shows_area_tasks_by_name_state_and_progress(stack):
    definition = f.election("flower-1", [
        f.contest("council", "plurality-at-large", candidates=4, seats=2, max_votes=2),
        f.contest("mayor", "instant-runoff", candidates=3),
    ])
    ballots = f.random_ballots(definition, 1200, seed=13)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    flower = _start_flower(stack)
    stack.start_worker("w1")
    stack.start_worker("w2")
    # Flower consumes events once it has seen both workers' heartbeats; workers send task events only
    # once Flower has turned them on (it does so every 5 s, for workers started after it).
    wait_for(lambda: flower.metric("flower_worker_online") >= 2, 30, what="flower to see both workers")
    wait_for(lambda: all("enabled by remote" in stack.log(w) for w in ("w1", "w2")), 30,
             what="flower to turn task events on in both workers")

    out = stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "60").stdout
    assert "Winners:" in out

    areas = [a["id"] for a in definition["areas"]]
    want = {f"(run=1, flower-1/main/{c}/{a})" for c in ("council", "mayor") for a in areas}

    def area_tasks():
        tasks = flower.json("/api/tasks?taskname=tally.process_area&limit=1000")
        if len(tasks) == len(want) and all(t["state"] == "SUCCESS" for t in tasks.values()):
            return tasks
        return None

    tasks = wait_for(area_tasks, 30, what="flower to show every area task SUCCESS")
    assert {t["args"] for t in tasks.values()} == want
    assert {t["worker"].split("@")[0] for t in tasks.values()} == {"w1", "w2"}
    assert all(t["name"] == "tally.process_area" and t["runtime"] is not None for t in tasks.values())

    info = flower.json(f"/api/task/info/{next(iter(tasks))}")
    assert info["args"] in want and info["state"] == "SUCCESS"
    contests = flower.json("/api/tasks?taskname=tally.aggregate_contest")
    assert {t["args"] for t in contests.values()} == {"(run=1, flower-1/main/council)", "(run=1, flower-1/main/mayor)"}
    starts = flower.json("/api/tasks?taskname=tally.start")
    assert [(t["args"], t["state"]) for t in starts.values()] == [("(run=1)", "SUCCESS")]
    finals = flower.json("/api/tasks?taskname=tally.finalize")
    assert [(t["args"], t["state"]) for t in finals.values()] == [("(run=1)", "SUCCESS")]

    # One progress event per area task.
    wait_for(lambda: flower.metric("flower_events_total", task="tally.process_area", type="task-progress")
             == len(want), 15, what="progress events")

    status, _ = flower.get("/api/tasks", auth=False)
    assert status == 401
    status, _ = flower.get("/api/tasks?taskname=tally.process_area", auth=False)
    assert status == 401
    request = urllib.request.Request(flower.base + "/api/tasks")
    request.add_header("Authorization", "Basic " + b64encode(b"operator:wrong").decode())
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(request, timeout=10)
    assert denied.value.code == 401
