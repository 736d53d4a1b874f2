"""Loads the admin API runs after answering 202 (`load_jobs`): created PENDING, RUNNING once a
worker thread takes one, then DONE with the load's report or FAILED with the refusal. A job whose
API process ended before it finished reads FAILED: its load's transaction never committed, so
nothing of it was loaded, and the upload can be sent again."""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy.orm import Session

import models as m
from models.db import session_scope
from services.errors import NotFound, ServiceError

log = logging.getLogger("tally.api")
ENDED = "the API process running it ended before it finished; nothing of it was loaded: send the upload again"


def create(session: Session, period: m.VotingPeriod, by: str | None) -> int:
    job = m.LoadJob(election_id=period.election_id, voting_period_id=period.id, status="PENDING", requested_by=by,
                    host=socket.gethostname(), pid=os.getpid())
    session.add(job)
    session.flush()
    return job.id


def run(job_id: int, load: Callable[[], dict]) -> None:
    """Run `load` (which commits its own transaction) for the job, and record how it ended."""
    _set(job_id, status="RUNNING")
    try:
        result = load()
    except ServiceError as exc:
        _set(job_id, status="FAILED", error=exc.message, finished_at=_now())
    except Exception as exc:  # recorded for the client; the API's log has the traceback
        log.exception("load job %s failed", job_id)
        _set(job_id, status="FAILED", error=f"the load failed: {type(exc).__name__}", finished_at=_now())
    else:
        _set(job_id, status="DONE", result=result, finished_at=_now())


def describe(session: Session, job_id: int) -> dict:
    job = session.get(m.LoadJob, job_id)
    if job is None:
        raise NotFound(f"no load job {job_id}")
    if job.status in ("PENDING", "RUNNING") and job.host == socket.gethostname() and not _alive(job.pid):
        job.status, job.error, job.finished_at = "FAILED", ENDED, _now()
    return {"jobId": job.id, "electionId": job.election_id, "votingPeriodId": job.voting_period_id,
            "status": job.status, "createdAt": _iso(job.created_at), "finishedAt": _iso(job.finished_at),
            "result": job.result, "error": job.error}


def _set(job_id: int, **values) -> None:
    with session_scope() as session:
        job = session.get(m.LoadJob, job_id)
        for key, value in values.items():
            setattr(job, key, value)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else m.aware(value).astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
