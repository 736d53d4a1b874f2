"""The tally as Celery tasks: start -> a chord per contest (one process_area per area, joined into
aggregate_contest) -> finalize, dispatched by the last contest to finish, after its commit."""

from __future__ import annotations

import logging
import time

from celery import chord, group
from celery.exceptions import ChordError
from celery.result import allow_join_result

from models.db import after_commit, session_scope
from services.pipeline import area as area_stage
from services.pipeline import contest as contest_stage
from services.pipeline import plan as plan_stage
from services.pipeline import publish as publish_stage
from services.runs import fail_run
from worker.app import app
from worker.logging import task_options

from .base import TallyTask

log = logging.getLogger("tally")


@app.task(base=TallyTask, bind=True, name="tally.start")
def start_tally(self, run_id: int) -> dict:
    with self.transaction() as session:
        plan = plan_stage.start(session, run_id)
        if plan:
            after_commit(session, lambda: _enqueue_or_fail(run_id, "the area tasks", lambda: _dispatch(run_id, plan)))
    log.info("tally run %s started: %s contests", run_id, len(plan or []))
    return {"contests": len(plan or []), "area_tasks": sum(len(jobs) for jobs in plan or [])}


def _dispatch(run_id: int, plan: list[list[plan_stage.AreaJob]]) -> None:
    chords = []
    for jobs in plan:
        header = [
            process_area.si(run_id, job.contest_id, job.area_id).set(**task_options(run_id, job.keys))
            for job in jobs
        ]
        body = (
            aggregate_contest.si(run_id, jobs[0].contest_id)
            .set(**task_options(run_id, jobs[0].keys[:3]))  # election, period, contest
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
# chord joins), so a tally of 10,000 areas leaves no 10,000 results in Redis for result_expires.
# Flower still shows what it returns (the task-succeeded event carries it).
@app.task(base=TallyTask, bind=True, name="tally.process_area", ignore_result=True)
def process_area(self, run_id: int, contest_id: int, area_id: int) -> dict:
    with self.transaction() as session:
        records = area_stage.process_area(session, run_id, contest_id, area_id)
    return {"ballots_counted": records}  # what Flower's result column shows; 0: the run was no longer running


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
    with self.transaction() as session:
        if contest_stage.aggregate_contest(session, run_id, contest_id, _StageEvents(self)):
            last = True
            after_commit(session, lambda: _enqueue_or_fail(
                run_id, "finalize", lambda: finalize.apply_async((run_id,))))
    return {"finalize_sent": last}  # True from the last contest to finish


def _finalize_failed(self, exc, task_id, args, kwargs, einfo) -> None:
    """Finalize failed for good: a lost connection (the base task's OperationalError) once its
    retries are spent, or at once for any other error. Its transaction rolled back whole, so
    nothing was published and each retry was safe; now the run ends FAILED."""
    _record_failure(args[0], f"finalize failed: {exc!r}")


@app.task(base=TallyTask, bind=True, name="tally.finalize", on_failure=_finalize_failed)
def finalize(self, run_id: int) -> dict:
    with self.transaction() as session:
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
        _record_failure(run_id, f"{where}an area task failed: {exc}")
    else:
        _record_failure(run_id, f"task {getattr(request, 'task', '?')} failed: {exc!r}")


def _enqueue_or_fail(run_id: int, what: str, send) -> None:
    """Send the next step; when the broker refuses it (e.g. a full Redis), end the run FAILED with
    the reason rather than leave it RUNNING for the reconciler, which could not send it either."""
    try:
        send()
    except Exception as exc:
        _record_failure(run_id, f"could not enqueue {what}: {exc}")


def _record_failure(run_id: int, message: str) -> None:
    with session_scope() as session:
        failed = fail_run(session, run_id, message)
    if failed:
        log.error("tally run %s failed: %s", run_id, message)
    else:
        log.warning("tally run %s had already ended; its late failure is not recorded: %s", run_id, message)
