"""The one base task: a transaction per call and structured log context naming the run."""

from __future__ import annotations

import logging
from contextlib import contextmanager

from celery import Task
from sqlalchemy.exc import OperationalError

from models.db import session_scope

log = logging.getLogger("tally")


class TallyTask(Task):
    """Every tally task is idempotent (late acks redeliver it after a crash), so retrying a
    transient database error is always safe."""

    abstract = True
    autoretry_for = (OperationalError,)
    retry_backoff = 2
    retry_backoff_max = 60
    max_retries = 5

    @contextmanager
    def transaction(self):
        with session_scope() as session:
            yield session
