"""worker.app as deployed, with an optional pace of the area tasks, for the fault tests only.

TALLY_TEST_AREA_PACE=S: each area task waits S seconds for each of its areas before it counts, so a
test that kills workers "at 30% of the areas" still finds areas left however fast counting gets or
however starved of CPU the test process is (a precondition, not the property under test)."""

import os
import time

from celery.signals import task_prerun

from worker.app import app

AREA_PACE = float(os.environ.get("TALLY_TEST_AREA_PACE") or 0)


@task_prerun.connect
def _pace_area_tasks(task=None, args=(), **_kwargs) -> None:
    if AREA_PACE and task is not None and task.name == "tally.process_areas":
        time.sleep(AREA_PACE * len(args[2]))  # (run_id, contest_id, area_ids)


__all__ = ["app"]
