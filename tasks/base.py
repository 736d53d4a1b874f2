"""The one base task: a transaction per call and structured log context naming the run."""

from __future__ import annotations

import inspect
import logging
from contextlib import contextmanager
from functools import cached_property

from celery import Task
from celery.signals import task_postrun, task_prerun
from celery.worker.request import Request
import psycopg
from sqlalchemy.exc import OperationalError

from models.db import after_commit, session_scope
from services.lifecycle.runs import fail_run
from tasks import leases
from worker import logging as tally_logging

log = logging.getLogger("tally")

# An area task names its areas in its header (worker.logging.task_options), each area as it is counted.
CONTEXT_ARGS = ("run_id", "contest_id")


class TallyRequest(Request):
    """A tally task's request in the worker's main process. Celery logs its "received" line there,
    from `argsrepr`, before the task runs: the text it gets carries the task's log fields."""

    @property
    def argsrepr(self):
        fields = self.request_dict.get(tally_logging.HEADER)  # the message's custom headers are top-level
        text = super().argsrepr
        return tally_logging.Described(text, fields) if isinstance(fields, dict) else text


class TallyTask(Task):
    """Every tally task is idempotent (late acks redeliver it after a crash), so retrying a
    transient database error is always safe.

    From just before a task runs until Celery has logged how it ended, every log record (any
    logger) names its run, contest and area: the ids from the task's arguments and the fields of
    the header its sender gave it (worker.logging.task_options)."""

    abstract = True
    Request = TallyRequest
    # A lost or terminated connection, as SQLAlchemy reports it, or as psycopg does to the raw
    # cursors of services/storage/postgres.py (AdminShutdown is one of its OperationalErrors).
    autoretry_for = (OperationalError, psycopg.OperationalError)
    retry_backoff = 2
    retry_backoff_max = 60
    max_retries = 5

    @cached_property
    def _context_params(self) -> list[tuple[int, str]]:
        names = [p.name for p in inspect.signature(self.run).parameters.values()]
        return [(i, n) for i, n in enumerate(names) if n in CONTEXT_ARGS]

    def log_context(self, args: tuple, kwargs: dict) -> dict:
        fields = {}
        for index, name in self._context_params:
            value = kwargs.get(name, args[index] if index < len(args) else None)
            if value is not None:
                fields[name] = value
        request = self.request
        fields.update(task=self.name, task_id=request.id)
        for key, value in ((request.headers or {}).get(tally_logging.HEADER) or {}).items():
            fields.setdefault(key, value)
        return fields

    def apply_async(self, args=None, kwargs=None, **options):
        """A task of one run (`tally.start`, `tally.finalize`) shows as "(run=N)" in Flower and the
        logs unless its caller named it otherwise."""
        if "argsrepr" not in options and args and len(args) == 1 and self._context_params[:1] == [(0, "run_id")]:
            options = {**tally_logging.task_options(args[0]), **options}
        return super().apply_async(args, kwargs, **options)

    def __call__(self, *args, **kwargs):
        if getattr(self.request, "log_token", None) is not None:  # bound by _bind_log_context
            return super().__call__(*args, **kwargs)
        # Called directly, outside Celery's trace: as a chord's error callback is.
        token = tally_logging.bind(**self.log_context(args, kwargs))
        try:
            return super().__call__(*args, **kwargs)
        finally:
            tally_logging.unbind(token)

    @contextmanager
    def transaction(self):
        with session_scope() as session:
            yield session

    def enqueue_after_commit(self, session, run_id: int, what: str, send) -> None:
        """The one way a tally step sends the next: once its transaction has committed (never a task
        for a state that rolled back), and when the broker refuses it (e.g. a full Redis) the run
        ends FAILED with the reason, rather than stay RUNNING for the reconciler, which could not
        send it either."""

        def send_or_fail() -> None:
            try:
                send()
            except Exception as exc:
                record_failure(run_id, f"could not enqueue {what}: {exc}")

        after_commit(session, send_or_fail)


def record_failure(run_id: int, message: str) -> None:
    """End the run FAILED with `message`, in a transaction of its own (unless it had already ended)."""
    with session_scope() as session:
        failed = fail_run(session, run_id, message)
    if failed:
        log.error("tally run %s failed: %s", run_id, message)
    else:
        log.warning("tally run %s had already ended; its late failure is not recorded: %s", run_id, message)


@task_prerun.connect
def _bind_log_context(task=None, args=(), kwargs=None, **_extra) -> None:
    if isinstance(task, TallyTask):
        task.request.log_token = tally_logging.bind(**task.log_context(args or (), kwargs or {}))
        leases.start(task, args or (), kwargs or {})


@task_postrun.connect
def _unbind_log_context(task=None, **_extra) -> None:
    """Sent after Celery logged the outcome ("succeeded", "raised", "retry"), whatever it was."""
    if isinstance(task, TallyTask):
        leases.end(task)
    token = getattr(task.request, "log_token", None) if isinstance(task, TallyTask) else None
    if token is not None:
        task.request.log_token = None
        tally_logging.unbind(token)
