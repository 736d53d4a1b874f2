"""Each tally task of a run holds a lease while it runs (services.lifecycle.leases): taken just before
it runs, renewed every TALLY_LEASE_RENEW seconds by a thread of the worker's process, dropped once it
has ended, whatever the end (success, failure, or a retry, which takes it again when it runs). A
worker that dies with the task stops renewing: the reconciler finds the lease expired after
TALLY_LEASE_TIMEOUT seconds and re-dispatches the run, on any broker (on Redis the task's message
would otherwise stay unacked for the visibility timeout). The lease's own failures are logged,
never the task's: a lease that could not be written costs at worst a needless re-dispatch."""

from __future__ import annotations

import logging
import threading

from config.settings import load_settings
from models.db import session_scope
from services.lifecycle import leases

log = logging.getLogger("tally")


class _Renewal(threading.Thread):
    def __init__(self, task_id: str, every: float):
        super().__init__(name=f"lease-{task_id}", daemon=True)
        self.task_id, self.every, self.ended = task_id, every, threading.Event()

    def run(self) -> None:
        while not self.ended.wait(self.every):
            _quietly("renew", leases.renew, self.task_id)


def _quietly(what: str, call, *args) -> None:
    try:
        with session_scope() as session:
            call(session, *args)
    except Exception as exc:  # the task goes on: see the module's note
        log.warning("could not %s the lease of task %s: %s", what, args[0], exc)


def _run_id(task, args, kwargs) -> int | None:
    for index, name in task._context_params:
        if name == "run_id":
            value = kwargs.get(name, args[index] if index < len(args) else None)
            return value if isinstance(value, int) else None
    return None


def start(task, args, kwargs) -> None:
    """Just before a tally task runs (tasks.base's task_prerun)."""
    run_id = _run_id(task, args, kwargs)
    request = task.request
    if run_id is None or not request.id or request.called_directly or request.is_eager:
        return  # an embedded (eager) run has no worker to lose
    _quietly("take", leases.take, request.id, run_id, task.name, request.hostname or "")
    renewal = request.lease_renewal = _Renewal(request.id, load_settings().lease_renew)
    renewal.start()


def end(task) -> None:
    """Once it has ended and Celery has logged how (tasks.base's task_postrun)."""
    renewal = getattr(task.request, "lease_renewal", None)
    if renewal is None:
        return
    task.request.lease_renewal = None
    renewal.ended.set()
    renewal.join()
    _quietly("drop", leases.drop, renewal.task_id)
