"""`tally export ELECTION --out DIR`: write the public ballots.json, audit.json and results.json
(the same bytes the API serves) to a directory, and nist-err.json: the results as a NIST SP 1500-100
v2 ElectionReport; then manifest.json (every file's size and SHA-256, the chain heads, the runs) and,
when TALLY_SIGNING_KEY is set, its signature manifest.json.sig (services.signing).

`tally export ELECTION --format blt --contest C [--period P] --out FILE`: a ranked contest's counted ballots as
a BLT file (services.read.blt_export)."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from config.settings import load_settings
from models.db import session_scope
from services import signing
from services.read import exports
from services.read.blt_export import blt_file
from services.read.export_store import MANIFEST, SIGNATURE
from services.read.manifest import manifest_document

from .common import fail, handles_errors

PUBLIC_FILES = ("ballots.json", "audit.json", "results.json", "nist-err.json")


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write an election's public ballots.json, audit.json, results.json and nist-err.json")
    p.add_argument("election", help="election id or key")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="directory to write the files to (with --format blt: the file, '-' for standard output)")
    p.add_argument("--format", choices=("public", "blt"), default="public",
                   help="public: the public files (default); blt: one ranked contest's counted ballots as a BLT file")
    p.add_argument("--contest", metavar="ID", help="with --format blt: the contest")
    p.add_argument("--period", metavar="NAME",
                   help="with --format blt: the period whose tally counted the ballots (needed when several have one)")
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
    listed = [{"name": name, **files[name]} for name in PUBLIC_FILES]
    _write_manifest(session, ref, out, listed)
    return listed


def _write_manifest(session: Session, ref: str, out: Path, files: list[dict]) -> None:
    path = load_settings().signing_key
    key = signing.load_key(path) if path else None
    manifest = manifest_document(session, ref, files, signing.key_id(key) if key else None).encode()
    (out / MANIFEST).write_bytes(manifest)
    if key is not None:
        (out / SIGNATURE).write_bytes(signing.sign(key, manifest))
    else:
        (out / SIGNATURE).unlink(missing_ok=True)  # an earlier export's signature would not be this one's


@handles_errors
def cmd_export(args) -> int:
    if args.format == "blt":
        return _export_blt(args)
    if args.contest or args.period:
        return fail("--contest and --period: only with --format blt")
    out = Path(args.out)
    with session_scope() as session:
        files = write_public_files(session, args.election, out)
    signed = [SIGNATURE] if (out / SIGNATURE).exists() else []
    print("wrote " + ", ".join(str(out / name) for name in [*(f["name"] for f in files), MANIFEST, *signed]))
    return 0


def _export_blt(args) -> int:
    if not args.contest:
        return fail("--format blt: needs --contest ID")
    with session_scope() as session:
        text = blt_file(session, args.election, args.contest, args.period)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
