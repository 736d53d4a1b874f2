"""worker.app as deployed, plus a fast kombu "unacked" sweep (and an optional pace of the area
tasks), for the fault tests only.

A worker killed whole (SIGKILL of its process group) leaves its reserved message in Redis's unacked
set; kombu gives it back once it is older than the visibility timeout (TALLY_VISIBILITY_TIMEOUT), but
only when a sweep runs: kombu 5.7 sweeps every unacked_restore_interval (10 s) x
unacked_restore_throttle (10) = ~100 s in a prefork worker. worker/app.py sets only the visibility
timeout, so the tests shorten the sweep here to see redelivery within seconds."""

import os
import time

from celery.signals import task_prerun

from worker.app import app

app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

# TALLY_TEST_AREA_PACE=S: each area task waits S seconds before it counts, so a test that kills
# workers "at 50% of the areas" still finds areas left however fast counting gets or however
# starved of CPU the test process is (a precondition, not the property under test).
AREA_PACE = float(os.environ.get("TALLY_TEST_AREA_PACE") or 0)


@task_prerun.connect
def _pace_area_tasks(task=None, **_kwargs) -> None:
    if AREA_PACE and task is not None and task.name == "tally.process_area":
        time.sleep(AREA_PACE)


__all__ = ["app"]
