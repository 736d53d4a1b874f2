"""Structured logs: a real worker with TALLY_LOG_JSON=1 writes one JSON object a line, and every
line about a tally task names its run (and contest and area, where the task has them)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from tests import factories as f
from worker import logging as tally_logging


def _json_lines(text: str) -> list[dict]:
    """The worker's log records; only Celery's start-up banner (printed, not logged) precedes them."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("{"))
    records = []
    for line in lines[first:]:
        if line.strip():
            records.append(json.loads(line))  # any non-JSON log line fails the test here
    return records


@pytest.mark.slow
@pytest.mark.integration
def test_worker_json_logs_name_run_contest_and_area(stack):
    definition = f.election("logs-1", [
        f.contest("council", "plurality-at-large", candidates=4, seats=2, max_votes=2),
        f.contest("mayor", "instant-runoff", candidates=3),
    ])
    ballots = f.random_ballots(definition, 600, seed=17)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    stack.env["TALLY_LOG_JSON"] = "1"
    stack.start_worker("w1", concurrency=2)
    stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "60")

    records = _json_lines(stack.log("w1"))
    assert all({"time", "level", "logger", "process", "message"} <= r.keys() for r in records)
    tally = [r for r in records if str(r.get("task", "")).startswith("tally.")]
    assert tally and all(r["run_id"] == 1 for r in tally)

    areas = {a["id"] for a in definition["areas"]}
    area_tasks = [r for r in tally if r["task"] == "tally.process_areas"]
    for r in area_tasks:
        assert (r["election"], r["period"]) == ("logs-1", "main") and r["contest"] in ("council", "mayor")
    # One message per contest here (600 ballots: within TALLY_BATCH_BALLOTS): Celery's lines name its
    # areas; the line of each area counted names that area, with its id.
    counted = [r for r in area_tasks if " counted: " in r["message"]]
    assert sorted((r["contest"], r["area"]) for r in counted) == sorted((c, a) for c in ("council", "mayor") for a in areas)
    assert all(isinstance(r["area_id"], int) and r["logger"] == "tally" for r in counted)
    received = [r for r in area_tasks if "received" in r["message"]]
    succeeded = [r for r in area_tasks if "succeeded" in r["message"]]
    assert len(received) == len(succeeded) == 2 and {r["process"] for r in received} == {"MainProcess"}
    assert all(r["area"].endswith(f" ({len(areas)} areas)") and "area_id" not in r for r in received + succeeded)

    contests = [r for r in tally if r["task"] == "tally.aggregate_contest"]
    assert contests and all(r["contest"] in ("council", "mayor") and "area" not in r for r in contests)
    # The tasks' own lines (logged inside the task body) carry the ids from the arguments too.
    started = [r for r in tally if r["task"] == "tally.start" and "started" in r["message"]]
    assert started and started[0]["logger"] == "tally" and started[0]["task_id"]
    published = [r for r in tally if r["task"] == "tally.finalize" and r["message"].endswith(" published")]
    assert len(published) == 1 and published[0]["logger"] == "tally"


def test_json_formatter_and_context_filter():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(tally_logging.JsonFormatter())
    handler.addFilter(tally_logging.ContextFilter())
    logger = logging.getLogger("tally.test-json")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        outer = tally_logging.bind(run_id=7, contest_id=3)
        inner = tally_logging.bind(area_id=11, task="tally.process_areas")
        logger.info("counted %s ballots", 42)
        tally_logging.unbind(inner)
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed")
        tally_logging.unbind(outer)
        options = tally_logging.task_options(9, ("e", "p", "c", "a.1"))
        described = tally_logging.Described(options["argsrepr"], options["headers"][tally_logging.HEADER])
        logger.info("Task %(name)s[%(id)s] received", {
            "name": "tally.process_areas", "id": "abc", "args": described, "kwargs": "{}"})
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    first, failed, celery_line, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "counted 42 ballots" and first["level"] == "INFO"
    assert (first["run_id"], first["contest_id"], first["area_id"], first["task"]) == (7, 3, 11, "tally.process_areas")
    assert first["time"].endswith("Z")
    assert failed["run_id"] == 7 and "area_id" not in failed and "ValueError: boom" in failed["exc_info"]
    assert celery_line["message"] == "Task tally.process_areas[abc] received"
    assert {k: celery_line[k] for k in ("run_id", "election", "period", "contest", "area", "task_id")} == {
        "run_id": 9, "election": "e", "period": "p", "contest": "c", "area": "a.1", "task_id": "abc"}
    assert not set(tally_logging.FIELDS) & set(outside)
    assert options["argsrepr"] == "(run=9, e/p/c/a.1)"  # what Flower shows
    assert tally_logging.task_options(4) == {"argsrepr": "(run=4)", "headers": {tally_logging.HEADER: {"run_id": 4}}}
