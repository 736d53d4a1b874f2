"""The one base task: a transaction per call and structured log context naming the run."""

from __future__ import annotations

import inspect
import logging
from contextlib import contextmanager
from functools import cached_property

from celery import Task
from sqlalchemy.exc import OperationalError

from models.db import session_scope
from worker import logging as tally_logging

log = logging.getLogger("tally")

CONTEXT_ARGS = ("run_id", "contest_id", "area_id")


class TallyTask(Task):
    """Every tally task is idempotent (late acks redeliver it after a crash), so retrying a
    transient database error is always safe.

    While a task runs, every log record (any logger) names its run, contest and area: the ids from
    the task's arguments and the keys from its readable arguments (argsrepr)."""

    abstract = True
    autoretry_for = (OperationalError,)
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
        for key, value in tally_logging.parse_argsrepr(getattr(request, "argsrepr", None)).items():
            fields.setdefault(key, value)
        return fields

    def apply_async(self, args=None, kwargs=None, **options):
        """A task of one run (`tally.start`, `tally.finalize`) shows as "(run=N)" in Flower and the
        logs unless its caller gave readable arguments of its own."""
        if "argsrepr" not in options and args and len(args) == 1 and self._context_params[:1] == [(0, "run_id")]:
            options["argsrepr"] = tally_logging.task_argsrepr(args[0])
        return super().apply_async(args, kwargs, **options)

    def __call__(self, *args, **kwargs):
        with tally_logging.bound(**self.log_context(args, kwargs)):
            return super().__call__(*args, **kwargs)

    @contextmanager
    def transaction(self):
        with session_scope() as session:
            yield session
