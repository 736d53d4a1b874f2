"""The public exports rendered once and kept as content-addressed files.

What an export shows changes only when the election's published state does: its completed runs,
its status, its audit log (every run that starts, fails, completes or is rolled back appends an
event, and events are append-only). So a cheap query gives a version of that state; the first
request for a version renders the document once (holding one database snapshot only while
rendering) into `blobs/<sha256>.json`, and every later request is a file read with no database
connection held while the client reads. The sha256 of the bytes is the ETag. Files are never
changed once written (temporary file, then rename), so any number of API processes may share the
directory."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m

from services import signing, storage

from report.site import build
from services.read import exports
from services.read.manifest import manifest_document
from services.read.report_data import site_document
from services.elections import find_election
from services.errors import NotFound

_RENDER: dict[str, Callable[[Session, str], Iterator[str]]] = {
    "ballots.json": exports.ballots_chunks,
    "audit.json": lambda session, ref: iter([exports.audit_document(session, ref)]),
    "results.json": lambda session, ref: iter([exports.results_document(session, ref)]),
}
KINDS = tuple(_RENDER)
SITE = "report"  # the results site: every page rendered together, of the same version as results.json
MANIFEST, SIGNATURE = "manifest.json", "manifest.json.sig"  # the version's files, and its signature


@dataclass(frozen=True)
class Blob:
    path: Path
    sha256: str

    @property
    def etag(self) -> str:
        return f'"{self.sha256}"'


def version(session: Session, kind: str, ref: str) -> str:
    """The published state an export is made of; NotFound when nothing is published."""
    election = find_election(session, ref)
    runs = session.execute(
        select(m.TallyRun.id, m.TallyRun.status).where(
            m.TallyRun.election_id == election.id,
            m.TallyRun.status.in_((m.RunStatus.COMPLETED, m.RunStatus.ROLLED_BACK)),
        ).order_by(m.TallyRun.id)
    ).all()
    completed = [run_id for run_id, status in runs if status == m.RunStatus.COMPLETED]
    if not (runs if kind == "audit.json" else completed):
        raise NotFound(exports.NOT_PUBLISHED)
    # The last event's hash chains every event before it, timestamps included: two databases (or
    # a database made again) never share it, so one export directory may serve several.
    last_event = session.scalar(
        select(m.AuditEvent.hash).where(m.AuditEvent.election_id == election.id).order_by(m.AuditEvent.seq.desc()).limit(1)
    )
    return f"{kind}|{election.id}|{election.key}|{election.status}|{completed}|{runs}|{last_event}"


class ExportStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.renders = 0  # documents rendered by this process (each version once)

    def _index(self, key: str) -> Path:
        return self.root / "index" / hashlib.sha256(key.encode()).hexdigest()

    def _blob(self, digest: str, suffix: str = ".json") -> Blob:
        return Blob(self.root / "blobs" / f"{digest}{suffix}", digest)

    def find(self, session: Session, kind: str, ref: str) -> tuple[str, Blob | None]:
        """(the export's version, its rendered file or None)."""
        key = version(session, kind, ref)
        try:
            digest = self._index(key).read_text().strip()
        except FileNotFoundError:
            return key, None
        blob = self._blob(digest)
        return key, blob if blob.path.exists() else None

    def render(self, session: Session, kind: str, ref: str) -> Blob:
        """Render the export from one snapshot (so the version and the bytes agree) and store it."""
        storage.of(session).read_snapshot(session)
        key = version(session, kind, ref)
        digest = hashlib.sha256()
        blobs = self.root / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=blobs, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for piece in _RENDER[kind](session, ref):
                    data = piece.encode("utf-8")
                    digest.update(data)
                    out.write(data)
            blob = self._blob(digest.hexdigest())
            os.replace(temporary, blob.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _write_atomically(self._index(key), blob.sha256)
        self.renders += 1
        return blob


    def find_named(self, session: Session, ref: str, page: str, kind: str = SITE, salt: str = "") -> tuple[str, Blob | None, bool]:
        """(the version, the named file of a set rendered together (the site's pages, or the manifest
        and its signature) or None, whether the set is rendered at all); `salt` tells sets of one
        version apart (the signing key's id)."""
        key = version(session, kind, ref) + salt
        try:
            pages = json.loads(self._index(key).read_text())
        except FileNotFoundError:
            return key, None, False
        if page not in pages:
            return key, None, True
        blob = self._blob(pages[page], Path(page).suffix)
        return key, blob if blob.path.exists() else None, blob.path.exists()

    def render_site(self, session: Session, ref: str, files: list[dict]) -> None:
        """Render every page of the site from one snapshot; `files`: the public files it lists, each
        {name, href, bytes, sha256} (`public_file` gives them as this store serves them)."""
        storage.of(session).read_snapshot(session)
        self._keep(version(session, SITE, ref), build(site_document(session, ref, files)))

    def render_manifest(self, session: Session, ref: str, files: list[dict], signer: Ed25519PrivateKey | None) -> None:
        """The manifest of the version the `files` (the public files as served) belong to, and its
        signature when there is a key; kept under the key's id, so another key signs afresh."""
        storage.of(session).read_snapshot(session)
        named = {MANIFEST: manifest_document(session, ref, files, signing.key_id(signer) if signer else None).encode()}
        if signer is not None:
            named[SIGNATURE] = signing.sign(signer, named[MANIFEST])
        self._keep(version(session, MANIFEST, ref) + salt_of(signer), named)

    def _keep(self, key: str, named: dict[str, bytes]) -> None:
        pages = {}
        for name, data in named.items():
            digest = hashlib.sha256(data).hexdigest()
            blob = self._blob(digest, Path(name).suffix)
            if not blob.path.exists():
                _write_atomically(blob.path, data)
            pages[name] = digest
        _write_atomically(self._index(key), json.dumps(pages))
        self.renders += 1


def salt_of(signer: Ed25519PrivateKey | None) -> str:
    return "|" + (signing.key_id(signer) if signer else "unsigned")


def public_file(blob: Blob, kind: str, href: str) -> dict:
    return {"name": kind, "href": href, "bytes": blob.path.stat().st_size, "sha256": blob.sha256}


def _write_atomically(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(text.encode() if isinstance(text, str) else text)
    os.replace(temporary, path)
