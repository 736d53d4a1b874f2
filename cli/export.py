"""`tally export ELECTION --out DIR`: write the public ballots.json, audit.json and results.json
(the same bytes the API serves) to a directory, and nist-err.json: the results as a NIST SP 1500-100
v2 ElectionReport."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from models.db import session_scope
from services.read import exports

from .common import handles_errors

PUBLIC_FILES = ("ballots.json", "audit.json", "results.json", "nist-err.json")


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write an election's public ballots.json, audit.json, results.json and nist-err.json")
    p.add_argument("election", help="election id or key")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write the files to")
    p.set_defaults(func=cmd_export)


def write_public_files(session: Session, ref: str, out: Path) -> list[dict]:
    """Write the public files into `out`; each one's name, size and SHA-256."""
    out.mkdir(parents=True, exist_ok=True)
    documents = {  # rendered before any file is written, so a refusal writes nothing
        "results.json": exports.results_document(session, ref),
        "audit.json": exports.audit_document(session, ref),
        "nist-err.json": exports.nist_err_document(session, ref),
    }
    digest, size = hashlib.sha256(), 0
    with open(out / "ballots.json", "wb") as handle:
        for piece in exports.ballots_chunks(session, ref):
            data = piece.encode("utf-8")
            digest.update(data)
            size += len(data)
            handle.write(data)
    files = {"ballots.json": {"bytes": size, "sha256": digest.hexdigest()}}
    for name, text in documents.items():
        data = text.encode("utf-8")
        (out / name).write_bytes(data)
        files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return [{"name": name, **files[name]} for name in PUBLIC_FILES]


@handles_errors
def cmd_export(args) -> int:
    out = Path(args.out)
    with session_scope() as session:
        files = write_public_files(session, args.election, out)
    print("wrote " + ", ".join(str(out / f["name"]) for f in files))
    return 0
