"""Beat tasks: thin wrappers around scheduler.advance and scheduler.reconcile."""

from __future__ import annotations

import logging

from services.lifecycle.dispatch import send_pending
from tasks.base import TallyTask
from worker.app import app

from .advance import advance as advance_elections
from .reconcile import reconcile as reconcile_runs

log = logging.getLogger("tally")


@app.task(base=TallyTask, bind=True, name="scheduler.advance")
def advance(self) -> dict:
    with self.transaction() as session:
        plan = advance_elections(session)
    send_pending()  # dispatches left in the outbox while the broker was down
    if plan.close or plan.tally:
        log.info("advance: closed %s, tallying %s", plan.close, plan.tally)
    return {"closed": plan.close, "tallied": plan.tally, "runs": plan.started_runs, "errors": plan.errors}


@app.task(base=TallyTask, bind=True, name="scheduler.reconcile")
def reconcile(self) -> dict:
    send_pending()
    with self.transaction() as session:
        actions = reconcile_runs(session)
    for action in actions:
        log.warning("reconcile: %s", action)
    return {"actions": actions}
