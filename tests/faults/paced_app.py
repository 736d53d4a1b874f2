"""worker.app as deployed, with an optional pace of the area tasks, for the fault tests only.

TALLY_TEST_AREA_PACE=S: each area task waits S seconds before it counts, so a test that kills workers
"at 30% of the areas" still finds areas left however fast counting gets or however starved of CPU the
test process is (a precondition, not the property under test)."""

import os
import time

from celery.signals import task_prerun

from worker.app import app

AREA_PACE = float(os.environ.get("TALLY_TEST_AREA_PACE") or 0)


@task_prerun.connect
def _pace_area_tasks(task=None, **_kwargs) -> None:
    if AREA_PACE and task is not None and task.name == "tally.process_area":
        time.sleep(AREA_PACE)


__all__ = ["app"]
