"""The FastAPI application: the admin tally API (ADMIN token) and the public exports (no auth).

Every error answers `{timestamp, status, error, message}`; service errors keep their exact
messages (services.lifecycle.runs) and their status. `uvicorn api.app:app` or `tally api`."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from http import HTTPStatus
from typing import Annotated, Optional

from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from models.db import session_scope
from services.lifecycle import periods, runs
from services.errors import ServiceError
from services.limits import unstorable
from config.settings import Settings, load_settings
from tasks.dispatch import install as install_dispatcher

from services.read import payloads
from services.lifecycle.commands import RequestTally, RollBack, SealPeriod
from services.lifecycle.ties import DecideTie
from .auth import AuthError, Principal, require_admin
from .guard import Guard
from .params import PERIOD_BASE, ElectionId, PeriodId
from .public import public_routes
from .uploads import upload_routes

log = logging.getLogger("tally.api")

DOCS_ASSETS = "/docs/assets"  # Swagger UI's script and style, from the fastapi-offline package
# Swagger UI 5 (fastapi-offline ships it): FastAPI writes OpenAPI 3.1, which Swagger UI 4 cannot render.
SWAGGER_UI = Path(importlib.util.find_spec("fastapi_offline").origin).parent / "static"
ADMIN_BASE = PERIOD_BASE + "/tally"
SEAL_PATH = PERIOD_BASE + "/seal"
TEXT_LIMIT = 10_000


def error_body(status: int, message: str) -> dict:
    return {
        "timestamp": periods.iso(periods.now()),
        "status": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def _storable(value: Optional[str], name: str) -> Optional[str]:
    """Text that PostgreSQL can store: no NUL character, valid UTF-8."""
    reason = None if value is None else unstorable(value)
    if reason:
        raise ValueError(f"{name} {reason}")
    return value


# ---- schemas (they are also the OpenAPI document) ----


class RunRequest(BaseModel):
    model_config = ConfigDict(strict=True, json_schema_extra={"example": {"remarks": "Final tally", "force": False}})

    remarks: Optional[str] = Field(None, max_length=TEXT_LIMIT, description="Stored with the run")
    force: bool = Field(False, description="Close and seal the period first if it is still OPEN or unsealed (recorded in the audit log)")
    allowEmpty: bool = Field(False, description="Tally a period without ballots: publishes no winners, notes say why")

    @field_validator("remarks")
    @classmethod
    def _remarks(cls, value):
        return _storable(value, "remarks")


class TieDecisionRequest(BaseModel):
    model_config = ConfigDict(strict=True, json_schema_extra={"example": {
        "contest": "mayor", "round": 2, "chosen": ["c-3"], "reason": "lot drawn by the returning officer"}})

    contest: str = Field(max_length=TEXT_LIMIT, description="The contest of the tie the tally waits for")
    round: Optional[int] = Field(None, description="Its round (`waitingFor.round`; null for a tie at the cut-off)")
    chosen: list[str] = Field(min_length=1, max_length=1000,
                              description="The candidates chosen: to elect, to eliminate or above the cut-off, "
                                          "as many as `waitingFor.choose`")
    reason: str = Field(min_length=1, max_length=TEXT_LIMIT, description="How the tie was decided (recorded in the audit log)")

    @field_validator("contest", "reason")
    @classmethod
    def _text(cls, value, info):
        return _storable(value, info.field_name)


class RunResponse(BaseModel):
    tallyRunId: int
    status: str
    electionId: int
    votingPeriodId: int
    totalPositionsTallied: Optional[int]
    totalWinnersApplied: Optional[int]
    tiesDetectedCount: Optional[int]
    serverTime: str
    message: str


class Progress(BaseModel):
    areasDone: int
    areasTotal: int
    ballotsProcessed: int


class PeriodState(BaseModel):
    name: str
    state: str = Field(description="OPEN, CLOSED or SEALED")
    endsAt: str
    sealedAt: Optional[str]
    ballots: int


class StatusResponse(BaseModel):
    tallyExists: bool
    period: Optional[PeriodState] = None
    tallyRunId: Optional[int]
    status: Optional[str]
    electionId: Optional[int]
    votingPeriodId: Optional[int]
    startedAt: Optional[str]
    completedAt: Optional[str]
    startedByPersonId: Optional[str]
    completedByPersonId: Optional[str]
    remarks: Optional[str]
    totalPositionsCertified: Optional[int]
    totalWinnersApplied: Optional[int]
    waitingFor: Optional[dict] = Field(None, description="WAITING: the tie an official must decide "
                                                         "(contest, round, purpose, candidates, choose)")
    progress: Optional[Progress]
    error: Optional[str] = None


class RollbackResponse(BaseModel):
    tallyRunId: int
    status: str
    winnersRemoved: int
    rolledBackAt: str
    message: str


class SealResponse(BaseModel):
    votingPeriodId: int
    sealedAt: str
    ballots: int
    counted: int
    ballotsChainHead: str
    definitionHash: str
    message: str


class ErrorBody(BaseModel):
    timestamp: str
    status: int
    error: str
    message: str


ADMIN_ERRORS = {
    400: {"model": ErrorBody, "description": "Invalid request or state (exact messages in the API design note)"},
    401: {"model": ErrorBody, "description": "No, unknown or revoked token"},
    403: {"model": ErrorBody, "description": "The token lacks the ADMIN role"},
}
# One answer whether the election does not exist or has published nothing yet: a public URL must not
# tell who can enumerate ids or guess keys which elections exist.
# ---- the application ----


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "Invalid request"
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ())]
    if loc[:1] == ["path"] and len(loc) > 1 and loc[1] in ("electionId", "votingPeriodId"):
        return f"Invalid {loc[1]}"
    if first.get("type") == "json_invalid":
        return "Request body is not valid JSON"
    where = ".".join(loc[1:]) if loc[:1] in (["body"], ["query"], ["path"], ["header"]) else ".".join(loc)
    text = first.get("msg", "invalid value")
    return f"{where}: {text}" if where else text


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()
    install_dispatcher()  # the runs it starts are sent through the worker application's tasks
    app = FastAPI(
        title="Tally worker",
        version="1",
        description="Admin tally API (Bearer token with the ADMIN role) and the public exports of completed tallies.",
        generate_unique_id_function=lambda route: route.name,
        docs_url=None,  # served below from the installed Swagger UI: /docs works with no internet
        redoc_url=None,  # ReDoc would load its script from a CDN
    )
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url, title=f"{app.title}: API documentation",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
        )

    _error_handlers(app)
    _admin_routes(app)
    _decision_routes(app)
    upload_routes(app, settings, ADMIN_ERRORS)
    public_routes(app, settings, ErrorBody)
    app.add_middleware(Guard, settings=settings, error_response=error_response)

    app.openapi = lambda: _openapi(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError):
        return error_response(exc.status, exc.message)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError):
        return error_response(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        # Admin requests reach this point authenticated (api.guard): a caller without a valid
        # token got its 401 before its body or path was judged.
        return error_response(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "Internal server error")


def _admin_routes(app: FastAPI) -> None:
    admin_tags = ["admin tally"]

    @app.post(ADMIN_BASE + "/run", status_code=202, response_model=RunResponse,
              responses={200: {"model": RunResponse, "description": "Tally already completed (idempotent)"},
                         **ADMIN_ERRORS}, tags=admin_tags, summary="Start a tally of the voting period")
    def run_tally(
        election_id: ElectionId,
        period_id: PeriodId,
        body: Annotated[Optional[RunRequest], Body()] = None,
        who: Principal = Depends(require_admin),
    ):
        body = body or RunRequest()
        with session_scope() as session:
            run, created = RequestTally(
                election_id, period_id, force=body.force, remarks=body.remarks, by=who.actor, trigger="api",
                allow_empty=body.allowEmpty,
            ).run(session)
            answer = payloads.run_started(run, "Tally started" if created else "Tally already completed (idempotent)")
        return JSONResponse(answer, status_code=202 if created else 200)

    @app.get(ADMIN_BASE + "/status", response_model=StatusResponse, responses=ADMIN_ERRORS, tags=admin_tags,
             summary="The latest tally of the voting period, with progress")
    def tally_status(election_id: ElectionId, period_id: PeriodId, who: Principal = Depends(require_admin)):
        with session_scope() as session:
            state = runs.status(session, election_id, period_id)
            return JSONResponse(payloads.tally_status(state, periods.locate(session, election_id, period_id)))

    @app.post(ADMIN_BASE + "/rollback", response_model=RollbackResponse, responses=ADMIN_ERRORS,
              tags=admin_tags, summary="Roll back a COMPLETED tally (winners removed, history kept)")
    def tally_rollback(
        election_id: ElectionId,
        period_id: PeriodId,
        reason: Annotated[str, Query(max_length=TEXT_LIMIT,
                                     description="Why (required, recorded in the audit log), as `tally rollback --reason`")],
        who: Principal = Depends(require_admin),
    ):
        try:
            reason = _storable(reason, "reason")
        except ValueError as exc:
            raise ServiceError(str(exc)) from None
        if not reason.strip():
            raise ServiceError("reason: a rollback needs a reason (recorded in the audit log)")
        with session_scope() as session:
            return JSONResponse(payloads.rolled_back(RollBack(election_id, period_id, reason, by=who.actor).run(session)))


def _decision_routes(app: FastAPI) -> None:
    """What an official records for a period: its seal, and the decision of a tie its tally waits for."""
    admin_tags = ["admin tally"]

    @app.post(ADMIN_BASE + "/tie-decisions", status_code=202, response_model=RunResponse,
              responses={**ADMIN_ERRORS, 409: {"model": ErrorBody, "description": "No run of the period waits for a tie decision"}},
              tags=admin_tags, summary="Record an official's decision of the tie the tally waits for; the tally goes on")
    def decide_tie(election_id: ElectionId, period_id: PeriodId, body: TieDecisionRequest,
                   who: Principal = Depends(require_admin)):
        with session_scope() as session:
            run = DecideTie(election_id, period_id, body.contest, body.round, tuple(body.chosen), body.reason,
                            by=who.actor).run(session)
            return JSONResponse(payloads.run_started(run, "Tie decision recorded: the tally goes on"), status_code=202)

    @app.post(SEAL_PATH, response_model=SealResponse, responses=ADMIN_ERRORS, tags=admin_tags,
              summary="Seal the voting period's ballots (closing it if its end has passed); only sealed periods are tallied")
    def seal_period(election_id: ElectionId, period_id: PeriodId, who: Principal = Depends(require_admin)):
        with session_scope() as session:
            return JSONResponse(payloads.sealed(SealPeriod(election_id, period_id, by=who.actor).run(session)))


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document, saying what this API really answers: invalid input is a 400 with the
    error body (see the RequestValidationError handler), never FastAPI's default 422."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", {"description": "Invalid request",
                                                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
        schemas = doc.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        app.openapi_schema = doc
    return app.openapi_schema


app = create_app()
