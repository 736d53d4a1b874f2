"""Loading through the admin API: an election's definition, and a period's ballots or CVR export.

The body is the file itself. It is streamed to a scratch file under TALLY_HOME/uploads (never held
in memory), refused with 413 once it passes TALLY_UPLOAD_MAX_BYTES, and with 408 when the client
stops sending for TALLY_HTTP_BODY_TIMEOUT seconds (api.guard bounds each read). Then it is loaded as
the CLI loads it (services.loading.upload), in a worker thread: one batch, the same checks,
refusals (400 with the message) and audit events; the scratch files are removed either way. An
upload larger than TALLY_UPLOAD_SYNC_BYTES is answered at once (202 and a job id) and loaded by one
of the process's TALLY_LOAD_JOBS threads; GET /api/v1/admin/load-jobs/{jobId} says how it ended
(services.loading.jobs).
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Optional

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as FastPath
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from config.settings import Settings
from models.db import session_scope
from services.errors import ServiceError
from services.lifecycle import periods
from services.loading import jobs
from services.loading.definition import load_definition
from services.loading.fields import LoadError
from services.loading.upload import discard, load_upload
from services.limits import INT32_MAX, KEY_LIMIT

from .auth import Principal, require_admin
from .guard import UPLOAD_ELECTIONS, UPLOAD_SUFFIX
from .params import PERIOD_BASE, ElectionId, PeriodId

JOBS_PATH = "/api/v1/admin/load-jobs/{jobId}"


class UploadResponse(BaseModel):
    batchId: Optional[int]
    loaded: int
    storedRaw: int
    contests: list[str]
    defined: list[str]
    areas: int
    warnings: list[str]


class JobAccepted(BaseModel):
    jobId: int
    status: str
    poll: str


class JobResponse(BaseModel):
    jobId: int
    electionId: int
    votingPeriodId: int
    status: str
    createdAt: str
    finishedAt: Optional[str]
    result: Optional[UploadResponse]
    error: Optional[str]


class DefinitionResponse(BaseModel):
    electionId: int
    electionKey: str
    periods: int
    contests: int
    areas: int
    unchanged: bool


def upload_routes(app: FastAPI, settings: Settings, errors: dict) -> None:
    tags = ["admin loading"]
    size_errors = {**errors, 408: errors[400] | {"description": "The body stopped arriving"},
                   413: errors[400] | {"description": "The body is larger than TALLY_UPLOAD_MAX_BYTES"}}
    _definition_route(app, settings, size_errors, tags)
    _ballots_route(app, settings, size_errors, tags)
    _job_route(app, errors, tags)


def _definition_route(app: FastAPI, settings: Settings, size_errors: dict, tags: list[str]) -> None:
    @app.post(UPLOAD_ELECTIONS, status_code=201, response_model=DefinitionResponse, responses=size_errors, tags=tags,
              summary="Create an election from a definition (the body: the definition JSON), or extend it",
              openapi_extra=_body_schema("application/json", "An election definition (docs/formats.md)"))
    async def load_election(request: Request, who: Principal = Depends(require_admin)):
        with _Scratch(settings) as scratch:
            path = await scratch.receive(request, "definition.json")
            report = await anyio.to_thread.run_sync(_load_definition, path)
        body = {"electionId": report.election_id, "electionKey": report.election_key, "periods": report.periods,
                "contests": report.contests, "areas": report.areas, "unchanged": report.unchanged}
        return JSONResponse(body, status_code=200 if report.unchanged else 201)


def _ballots_route(app: FastAPI, settings: Settings, size_errors: dict, tags: list[str]) -> None:
    # Loads after the answer run here, a few at a time; a job waits PENDING for its turn.
    runner = ThreadPoolExecutor(max_workers=settings.load_jobs, thread_name_prefix="load-job")

    @app.post(PERIOD_BASE + UPLOAD_SUFFIX, status_code=201, response_model=UploadResponse,
              responses={**size_errors, 202: {"model": JobAccepted, "description": "Larger than "
                         "TALLY_UPLOAD_SYNC_BYTES: loaded after this answer; poll the job"}},
              tags=tags, summary="Load ballots into the voting period: a ballots file, or a CVR export (a .zip for "
              "a folder export) with `provider`",
              openapi_extra=_body_schema("application/octet-stream", "The file: a ballots JSON file, a CVR file, "
                                         "or a .zip of a Dominion or Hart export"))
    async def load_period_ballots(
        request: Request,
        election: ElectionId,
        period: PeriodId,
        provider: Annotated[Optional[str], Query(max_length=32, description="The CVR's provider (ess, cdf, dominion, "
                                                 "hart, clearBallot, genericCsv); none: a ballots file")] = None,
        contest: Annotated[Optional[str], Query(max_length=KEY_LIMIT, description="The one contest the CVR is for; "
                                                "none: every contest of the export")] = None,
        options: Annotated[str, Query(max_length=10_000, description="How to read the CVR, as `tally load "
                                      "--cvr-options` (JSON)")] = "{}",
        allowDuplicate: bool = False,
        smallBatch: Annotated[bool, Query(description="Load a batch of fewer than TALLY_MIN_BATCH ballots (its few "
                                          "voters' votes are then public)")] = False,
        who: Principal = Depends(require_admin),
    ):
        read_options = _options(options)
        scratch = _Scratch(settings)
        try:
            path = await scratch.receive(request, "upload")

            def load() -> dict:
                try:
                    return _load_ballots(path, election, period, provider, contest, read_options,
                                         (allowDuplicate, smallBatch), settings)
                finally:
                    scratch.discard()

            if path.stat().st_size <= settings.upload_sync_bytes:
                return JSONResponse(await anyio.to_thread.run_sync(load), status_code=201)
            job = await anyio.to_thread.run_sync(_create_job, election, period, who.actor)
            scratch.keep = True  # the job removes it when its load ends
            runner.submit(jobs.run, job, load)
        finally:
            if not scratch.keep:
                scratch.discard()
        return JSONResponse({"jobId": job, "status": "PENDING", "poll": JOBS_PATH.format(jobId=job)}, status_code=202)


def _job_route(app: FastAPI, errors: dict, tags: list[str]) -> None:
    @app.get(JOBS_PATH, response_model=JobResponse, responses={**errors, 404: errors[400] | {"description": "No such job"}},
             tags=tags, summary="A load the API runs after answering 202: PENDING, RUNNING, DONE (with its report) "
             "or FAILED (with why)")
    def load_job(job_id: Annotated[int, FastPath(alias="jobId", ge=1, le=INT32_MAX)], who: Principal = Depends(require_admin)):
        with session_scope() as session:
            return JSONResponse(jobs.describe(session, job_id))


def _body_schema(media: str, description: str) -> dict:
    schema = {"type": "string", "format": "binary"} if "octet" in media else {"type": "object"}
    return {"requestBody": {"required": True, "description": description, "content": {media: {"schema": schema}}}}


def _options(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServiceError(f"options: invalid JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise ServiceError("options: must be a JSON object")
    return value


def _load_definition(path: Path):
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LoadError(f"definition: invalid JSON: {exc}") from None
    with session_scope() as session:
        return load_definition(session, document)


def _load_ballots(path: Path, election_id: int, period_id: int, provider, contest, options,
                  allowed: tuple[bool, bool], settings) -> dict:
    """`allowed`: (a duplicate batch, a small batch)."""
    with session_scope() as session:
        period = periods.locate(session, election_id, period_id)
        report = load_upload(session, path, period.election, period, provider, contest, options,
                             settings.upload_unpacked_bytes, *allowed)
    return {"batchId": report.batch_id, "loaded": report.loaded, "storedRaw": report.stored_raw,
            "contests": report.contests, "defined": report.created, "areas": report.areas, "warnings": report.warnings}


def _create_job(election_id: int, period_id: int, by: str) -> int:
    with session_scope() as session:
        return jobs.create(session, periods.locate(session, election_id, period_id), by)


class _Scratch:
    """A scratch folder of one upload under TALLY_HOME/uploads, removed when the request ends."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.folder = settings.home / "uploads" / uuid.uuid4().hex
        self.folder.mkdir(parents=True)
        self.keep = False

    def __enter__(self) -> "_Scratch":
        return self

    def __exit__(self, *exc) -> None:
        self.discard()

    def discard(self) -> None:
        discard(self.folder)

    async def receive(self, request: Request, name: str) -> Path:
        cap = self.settings.upload_max_bytes
        path = self.folder / name
        size = 0
        try:
            with open(path, "wb") as out:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > cap:
                        raise ServiceError(f"Request body larger than {cap} bytes (TALLY_UPLOAD_MAX_BYTES)", 413)
                    out.write(chunk)
        except TimeoutError:
            raise ServiceError("Request body not received in time", 408) from None
        if not size:
            raise ServiceError("the request has no body: send the file as the body")
        return path
