"""The public side of the API, no authentication: the export files, the results site and the list
of published elections. Everything here is rendered once per published version (ExportStore) and
then served from disk, with its SHA-256 as ETag; HEAD answers as GET does, without the body."""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import FastAPI, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from sqlalchemy import select

from config.settings import Settings
from models import entities as m
from models.db import session_scope
from services.errors import NotFound
from services.limits import KEY_LIMIT
from services import signing
from services.read.export_store import KINDS, MANIFEST, SIGNATURE, SITE, ExportStore, public_file, salt_of

PUBLIC_NOT_FOUND = "Nothing is published for this election"
UNSIGNED = "This server signs nothing: no TALLY_SIGNING_KEY is set"
ElectionRef = Annotated[str, Path(description="Election id or key", max_length=KEY_LIMIT)]
PageName = Annotated[str, Path(description="A page or download of the site", max_length=200)]
MEDIA = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _get_and_head(app: FastAPI, path: str, **options):
    """Route GET and HEAD to the endpoint, each with its own operation id (OpenAPI wants them unique)."""
    def register(endpoint):
        app.api_route(path, methods=["GET"], **options)(endpoint)
        app.api_route(path, methods=["HEAD"], operation_id=f"{endpoint.__name__}_head", **options)(endpoint)
        return endpoint
    return register


class PublicExports:
    """Serves the rendered export files and site pages (services.read.export_store). The database is
    used only for the short version lookup and, once per version, the render; never while a client
    reads. At most TALLY_EXPORT_CONCURRENCY renders run at once, and a version is rendered once
    however many ask."""

    def __init__(self, settings: Settings):
        self.store = ExportStore(settings.export_dir)
        self.signer = signing.load_key(settings.signing_key) if settings.signing_key else None
        self.slots = anyio.Semaphore(max(1, settings.export_concurrency))
        self.locks: defaultdict[str, anyio.Lock] = defaultdict(anyio.Lock)

    def _in_session(self, call, *args):
        with session_scope() as session:
            return call(session, *args)

    async def _blob(self, kind: str, ref: str):
        """The export's file, rendered first (once, however many ask) if this version has none."""
        key, blob = await anyio.to_thread.run_sync(self._in_session, self.store.find, kind, ref)
        if blob is None:
            async with self.locks[key], self.slots:
                key, blob = await anyio.to_thread.run_sync(self._in_session, self.store.find, kind, ref)
                if blob is None:
                    blob = await anyio.to_thread.run_sync(self._in_session, self.store.render, kind, ref)
            self.locks.pop(key, None)
        return blob

    async def answer(self, request: Request, kind: str, ref: str) -> Response:
        try:
            blob = await self._blob(kind, ref)
        except NotFound:
            raise NotFound(PUBLIC_NOT_FOUND) from None
        return _file(request, blob, MEDIA[".json"])

    async def page(self, request: Request, ref: str, page: str) -> Response:
        try:
            blob = await self._named(ref, page, SITE, "", self.store.render_site)
        except NotFound:
            raise NotFound(PUBLIC_NOT_FOUND) from None
        if blob is None:
            raise NotFound(f"The report has no page {page!r}")
        return _file(request, blob, MEDIA.get(PurePosixPath(page).suffix, "application/octet-stream"))

    async def signed(self, request: Request, ref: str, name: str) -> Response:
        """The version's manifest or its signature (signed with the key of this process)."""
        if name == SIGNATURE and self.signer is None:
            raise NotFound(UNSIGNED)
        try:
            render = functools.partial(self.store.render_manifest, signer=self.signer)
            blob = await self._named(ref, name, MANIFEST, salt_of(self.signer), render)
        except NotFound:
            raise NotFound(PUBLIC_NOT_FOUND) from None
        return _file(request, blob, MEDIA[".json"] if name == MANIFEST else "text/plain; charset=utf-8")

    async def _named(self, ref: str, name: str, kind: str, salt: str, render):
        """A file of a set rendered together from the public files (the site's pages, or the
        manifest and its signature), the set rendered first (once) if this version has none."""
        find = functools.partial(self.store.find_named, kind=kind, salt=salt)
        key, blob, rendered = await anyio.to_thread.run_sync(self._in_session, find, ref, name)
        if not rendered:
            files = [public_file(await self._blob(k, ref), k, f"../public/{k}") for k in KINDS]
            async with self.locks[key], self.slots:
                key, blob, rendered = await anyio.to_thread.run_sync(self._in_session, find, ref, name)
                if not rendered:
                    await anyio.to_thread.run_sync(self._in_session, render, ref, files)
                    key, blob, _ = await anyio.to_thread.run_sync(self._in_session, find, ref, name)
            self.locks.pop(key, None)
        return blob


def _file(request: Request, blob, media_type: str) -> Response:
    headers = {"ETag": blob.etag, "Cache-Control": "no-cache"}
    if blob.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(blob.path, media_type=media_type, headers=headers)


def public_routes(app: FastAPI, settings: Settings, error_model) -> None:
    errors = {404: {"model": error_model, "description": PUBLIC_NOT_FOUND + " (none such, or not tallied yet)"}}
    public = {"tags": ["public exports"], "response_class": Response,
              "responses": {200: {"content": {"application/json": {"schema": {"type": "object"}}},
                                  "description": "Canonical JSON, byte-for-byte reproducible"}, **errors}}
    site = {"tags": ["results site"], "response_class": Response,
            "responses": {200: {"content": {"text/html": {}}, "description": "A page of the results site"}, **errors}}
    signature_doc = {200: {"content": {"text/plain": {}}, "description": "base64, one line"}, **errors}
    exports = app.state.exports = PublicExports(settings)

    @_get_and_head(app, "/elections/{election}/public/ballots.json", **public, summary="Every counted ballot, hash-chained")
    async def public_ballots(request: Request, election: ElectionRef):
        return await exports.answer(request, "ballots.json", election)

    @_get_and_head(app, "/elections/{election}/public/audit.json", **public, summary="Counting methods and the audit log")
    async def public_audit(request: Request, election: ElectionRef):
        return await exports.answer(request, "audit.json", election)

    @_get_and_head(app, "/elections/{election}/public/results.json", **public, summary="Results per contest and area")
    async def public_results(request: Request, election: ElectionRef):
        return await exports.answer(request, "results.json", election)

    @_get_and_head(app, "/elections/{election}/public/manifest.json", **public,
                   summary="The public files' sizes and SHA-256, the chain heads and runs: what the signature covers")
    async def public_manifest(request: Request, election: ElectionRef):
        return await exports.signed(request, election, MANIFEST)

    @_get_and_head(app, "/elections/{election}/public/manifest.json.sig", **{**public, "responses": signature_doc},
                   summary="The manifest's Ed25519 signature (base64), by the key at /signing-key.pem")
    async def public_signature(request: Request, election: ElectionRef):
        return await exports.signed(request, election, SIGNATURE)

    @_get_and_head(app, "/signing-key.pem", response_class=Response, tags=["public exports"],
                   summary="The public key that signs the manifests (check it against the election office's)",
                   responses={200: {"content": {"application/x-pem-file": {}}}, 404: errors[404]})
    def signing_key():
        if exports.signer is None:
            raise NotFound(UNSIGNED)
        return Response(signing.public_pem(exports.signer), media_type="application/x-pem-file")

    @_get_and_head(app, "/elections/{election}/report", include_in_schema=False)
    async def report_folder(election: ElectionRef):
        return RedirectResponse(f"/elections/{quote(election, safe='')}/report/", status_code=308)

    @_get_and_head(app, "/elections/{election}/report/", **site, summary="The results site: the election's index page")
    async def report_index(request: Request, election: ElectionRef):
        return await exports.page(request, election, "index.html")

    @_get_and_head(app, "/elections/{election}/report/{page}", **site, summary="A page, CSV or XLSX of the results site")
    async def report_page(request: Request, election: ElectionRef, page: PageName):
        return await exports.page(request, election, page)

    @_get_and_head(app, "/", response_class=HTMLResponse, summary="The published elections, with their reports",
                   tags=["results site"])
    def published_elections():
        return HTMLResponse(_listing())


def _listing() -> str:
    with session_scope() as session:
        rows = session.execute(
            select(m.Election.key, m.Election.name)
            .where(select(m.TallyRun.id).where(m.TallyRun.election_id == m.Election.id,
                                               m.TallyRun.status == m.RunStatus.COMPLETED).exists())
            .order_by(m.Election.name, m.Election.key)
        ).all()
    items = "".join(
        f'<li><a href="/elections/{escape(quote(key, safe=""))}/report/">{escape(name)}</a> '
        f'(<a href="/elections/{escape(quote(key, safe=""))}/public/results.json">results.json</a>)</li>'
        for key, name in rows
    ) or "<li>Nothing is published yet.</li>"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Published elections</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>'
        f'<body><main><h1>Published elections</h1><ul>{items}</ul>'
        '<p><a href="/docs">API documentation</a></p></main></body></html>'
    )
