"""worker.app as deployed, with an optional pace of the area tasks, for the fault tests only.

TALLY_TEST_AREA_PACE=S: each area task waits S seconds for each of its areas before it counts, so a
test that kills workers "at 30% of the areas" still finds areas left however fast counting gets or
however starved of CPU the test process is (a precondition, not the property under test).

TALLY_TEST_BUSY_DIR=D: while a worker waits out an area task's pace (before it counts anything), the
file D/<worker name> exists, so a test can kill a worker at a moment it certainly holds an unacked
message whose areas are not staged (with prefetch 1, between two tasks it holds none; once a task has
committed, its areas are staged and its chord counts it: a kill there leaves nothing to recover)."""

import os
import time
from pathlib import Path

from celery.signals import task_prerun

import tasks.base  # noqa: F401  (first: a task's lease is taken before its pace, as before its work)
from worker.app import app

AREA_PACE = float(os.environ.get("TALLY_TEST_AREA_PACE") or 0)
BUSY_DIR = os.environ.get("TALLY_TEST_BUSY_DIR")
AREA_TASK = "tally.process_areas"


def _busy_file(task) -> Path | None:
    if not BUSY_DIR or task is None or task.name != AREA_TASK:
        return None
    return Path(BUSY_DIR) / task.request.hostname.split("@", 1)[0]


@task_prerun.connect
def _pace_area_tasks(task=None, args=(), **_kwargs) -> None:
    if task is None or task.name != AREA_TASK:
        return
    busy = _busy_file(task)
    if busy is not None:
        busy.touch()
    time.sleep(AREA_PACE * len(args[2]))  # (run_id, contest_id, area_ids)
    if busy is not None:
        busy.unlink(missing_ok=True)


__all__ = ["app"]
