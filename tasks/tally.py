"""The tally as Celery tasks: start -> a chord per contest (process_areas messages, each carrying
areas of the contest sized by ballots, joined into aggregate_contest) -> finalize, dispatched by the
last contest to finish, after its commit."""

from __future__ import annotations

import gc
import logging
import time
from contextlib import contextmanager

from celery import chord, group
from celery.exceptions import ChordError
from celery.result import allow_join_result

from services.pipeline import area as area_stage
from services.pipeline import contest as contest_stage
from services.pipeline import plan as plan_stage
from services.pipeline import publish as publish_stage
from worker import logging as tally_logging
from worker.app import app
from worker.logging import task_options

from .base import TallyTask, record_failure

log = logging.getLogger("tally")


@app.task(base=TallyTask, bind=True, name="tally.start")
def start_tally(self, run_id: int) -> dict:
    with self.transaction() as session:
        plan = plan_stage.start(session, run_id)
        if plan:
            self.enqueue_after_commit(session, run_id, "the area tasks", lambda: _dispatch(run_id, plan))
    tasks = sum(len(batches) for batches in plan or [])
    areas = sum(len(b.area_ids) for batches in plan or [] for b in batches)
    log.info("tally run %s started: %s contests, %s areas in %s area tasks", run_id, len(plan or []), areas, tasks)
    return {"contests": len(plan or []), "area_tasks": tasks, "areas": areas}


def _dispatch(run_id: int, plan: list[list[plan_stage.AreaBatch]]) -> None:
    chords = []
    for batches in plan:
        header = [
            process_areas.si(run_id, b.contest_id, list(b.area_ids)).set(**task_options(run_id, b.keys))
            for b in batches
        ]
        body = (
            aggregate_contest.si(run_id, batches[0].contest_id)
            .set(**task_options(run_id, batches[0].keys[:3]))  # election, period, contest
            .on_error(tally_failed.s(run_id))
        )
        chords.append(chord(header, body))
    if app.conf.task_always_eager:
        # Embedded mode runs the canvas in-process, where joining the header is the only way.
        with allow_join_result():
            group(chords).apply_async()
    else:
        group(chords).apply_async()


# No stored result: the chord counts an area task without one (its join list lives only until the
# chord joins), so a tally of 10,000 areas leaves no results in Redis for result_expires.
# Flower still shows what it returns (the task-succeeded event carries it).
@app.task(base=TallyTask, bind=True, name="tally.process_areas", ignore_result=True)
def process_areas(self, run_id: int, contest_id: int, area_ids: list[int]) -> dict:
    with self.transaction() as session:
        counted = area_stage.process_areas(session, run_id, contest_id, area_ids, _AreaProgress(self))
    # What Flower's result column shows: each area counted now, with its ballots. An area left out was
    # staged by an earlier delivery of this message; none at all: the run was no longer running.
    return {"ballots_counted": sum(a.ballots for a in counted), "areas": {a.key: a.ballots for a in counted}}


class _AreaProgress:
    """Each area of an area task as it is counted: a log line naming it, and for Flower a
    `task-progress` event naming the area just counted (Flower shows it as the task's state PROGRESS
    and its result until SUCCESS). The event goes after the task's first area, then at most every
    PROGRESS_EVERY seconds, never after its last: one costs 0.5-0.9 ms here, as much as counting a
    small area, so an event for every area would double the cost of a task of small areas."""

    PROGRESS_EVERY = 1.0

    def __init__(self, task):
        self.task = task
        self.sent_at: float | None = None
        self.enabled = not (task.request.called_directly or task.request.is_eager)

    def __call__(self, area: area_stage.AreaCounted, done: int, total: int) -> None:
        token = tally_logging.bind(area=area.key, area_id=area.area_id)
        try:
            log.info("area %s counted: %s ballots (%s/%s of this task)", area.key, area.ballots, done, total)
        finally:
            tally_logging.unbind(token)
        recent = self.sent_at is not None and time.monotonic() - self.sent_at < self.PROGRESS_EVERY
        if not self.enabled or done == total or recent:
            return
        try:
            self.task.send_event("task-progress", result=f"area {area.key} counted ({done}/{total} areas)",
                                 area=area.key, done=done, total=total)
        except Exception:  # progress is a courtesy to operators; never fail the count for it
            log.warning("area task: progress event not sent", exc_info=True)
        self.sent_at = time.monotonic()


class _StageEvents:
    """`task-progress` events of a contest step for Flower: the stage it is at, sent when the stage
    changes and at most every PROGRESS_EVERY seconds within one (Flower shows the last one as the
    task's state PROGRESS and its `result`, until SUCCESS replaces them)."""

    PROGRESS_EVERY = 1.0

    def __init__(self, task):
        self.task = task
        self.stage = None
        self.sent_at = 0.0
        self.enabled = not (task.request.called_directly or task.request.is_eager)

    def __call__(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        if not self.enabled or (stage == self.stage and time.monotonic() - self.sent_at < self.PROGRESS_EVERY):
            return
        text = stage if done is None else f"{stage}: {done}/{total} areas"
        if done is None and total is not None:
            text = f"{stage} ({total} areas)"
        try:
            self.task.send_event("task-progress", result=text, stage=stage, done=done, total=total)
        except Exception:  # progress is a courtesy to operators; never fail the count for it
            log.warning("contest step: progress event not sent", exc_info=True)
        self.stage, self.sent_at = stage, time.monotonic()


@app.task(base=TallyTask, bind=True, name="tally.aggregate_contest")
def aggregate_contest(self, run_id: int, contest_id: int) -> dict:
    last = False
    with _collector_paused(), self.transaction() as session:
        if contest_stage.aggregate_contest(session, run_id, contest_id, _StageEvents(self)):
            last = True
            self.enqueue_after_commit(session, run_id, "finalize", lambda: finalize.apply_async((run_id,)))
    return {"finalize_sent": last}  # True from the last contest to finish


@contextmanager
def _collector_paused():
    """The cyclic garbage collector off for one step that runs alone (a contest step, finalize):
    its objects are still freed by reference counting, only the collector's passes wait until the
    step ends. A pass walks everything the worker process holds (its judges' caches of distinct
    ballots included), and a contest step allocates enough to set off several: at 1M ballots in
    1,000 areas it took 1.8 s with them and 0.29 s without."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _finalize_failed(self, exc, task_id, args, kwargs, einfo) -> None:
    """Finalize failed for good: a lost connection (the base task's OperationalError) once its
    retries are spent, or at once for any other error. Its transaction rolled back whole, so
    nothing was published and each retry was safe; now the run ends FAILED."""
    record_failure(args[0], f"finalize failed: {exc!r}")


@app.task(base=TallyTask, bind=True, name="tally.finalize", on_failure=_finalize_failed)
def finalize(self, run_id: int) -> dict:
    with _collector_paused(), self.transaction() as session:
        published = publish_stage.finalize(session, run_id)
    log.info("tally run %s %s", run_id, "published" if published else "not publishable")
    return {"published": published}


@app.task(base=TallyTask, name="tally.failed")
def tally_failed(request, exc, traceback, run_id: int) -> None:
    """Chord error callback: a header or body task failed for good, so the run ends FAILED.

    Not bound on purpose: Celery calls an errback in-process with (request, exc, traceback) only
    when the task's header is not a partial; a bound task's header is one, so Celery would instead
    send it as an old-style errback with just the task id, and the run would hang RUNNING."""
    if isinstance(exc, ChordError):  # a header task failed: name the contest, not the body task
        args = getattr(request, "args", None) or ()
        where = f"contest {args[1]}: " if len(args) > 1 else ""
        record_failure(run_id, f"{where}an area task failed: {exc}")
    else:
        record_failure(run_id, f"task {getattr(request, 'task', '?')} failed: {exc!r}")


