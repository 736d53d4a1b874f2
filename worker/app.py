"""The Celery application: `celery -A worker.app worker` / `beat`.

Settings follow the architecture note: late acks with reject-on-worker-lost (a killed worker's task
is redelivered, so every task is idempotent), prefetch 1, JSON only, result backend retries, a
visibility timeout longer than any task. Task events only while someone watches: Flower turns them on
in every worker when it starts and every 5 s after (`enable_events`); with nobody watching they would
cost every area task several broker messages for nothing (issue #19). Embedded (no CELERY_BROKER_URL),
tasks run in-process, eagerly, with the same code."""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging, worker_init, worker_process_init
from sqlalchemy.orm import configure_mappers

from models.db import dispose_engines
from worker.schedule import beat_schedule
from config.settings import load_settings

settings = load_settings()


def time_limits(settings) -> dict:
    """Soft and hard time limits per kind of task (TALLY_TIME_LIMIT_*): at the soft limit the task
    gets SoftTimeLimitExceeded and fails (its run ends FAILED, retryable); at the hard limit its
    process is killed. No task can hold a worker, a connection or a tally forever."""
    kinds = {
        "tally.start": settings.time_limit_start,
        "tally.process_areas": settings.time_limit_area,
        "tally.aggregate_contest": settings.time_limit_contest,
        "tally.finalize": settings.time_limit_finalize,
        "tally.failed": settings.time_limit_beat,
        "scheduler.advance": settings.time_limit_beat,
        "scheduler.reconcile": settings.time_limit_beat,
    }
    return {name: {"soft_time_limit": soft, "time_limit": hard} for name, (soft, hard) in kinds.items()}


# tasks.dispatch installs the outbox's sender in each worker as it starts: named, not imported (tasks import this)
app = Celery("tally", include=["tasks.tally", "tasks.dispatch", "scheduler.tasks"])
app.conf.update(
    broker_url=settings.broker_url or "memory://",
    result_backend=settings.result_backend or "cache+memory://",
    task_always_eager=settings.embedded,
    task_eager_propagates=False,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_send_task_events=False,  # Flower enables them remotely; `celery worker -E` from the start
    task_send_sent_event=False,  # sent by whoever enqueues, watched or not: Flower shows tasks from receipt
    task_track_started=True,
    result_expires=settings.result_expires,
    result_extended=True,
    result_backend_always_retry=True,
    result_backend_max_retries=20,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"visibility_timeout": settings.visibility_timeout},
    result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
    redis_backend_health_check_interval=30,
    task_default_queue="tally",
    worker_hijack_root_logger=False,
    beat_schedule=beat_schedule(settings),
    task_annotations=time_limits(settings),
    timezone="UTC",
)


@worker_process_init.connect
def _fresh_connections(**_kwargs) -> None:
    dispose_engines()


@worker_init.connect
def _configure_models(**_kwargs) -> None:
    """Configure the ORM's mappers once, in the parent: every pool process forked from it starts with
    them configured, where each one spent 0.25 s of its first task doing it."""
    import models.entities  # noqa: F401  (the mappers to configure)

    configure_mappers()


if settings.log_json:

    @setup_logging.connect
    def _json_logs(loglevel=None, **_kwargs) -> None:
        """TALLY_LOG_JSON: worker and beat write one JSON object a line (worker/logging.py)."""
        from worker.logging import configure_json

        configure_json(loglevel or "INFO")
