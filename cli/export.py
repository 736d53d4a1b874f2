"""`tally export ELECTION --out DIR`: write the public ballots.json, audit.json and results.json
(the same bytes the API serves) to a directory, and nist-err.json: the results as a NIST SP 1500-100
v2 ElectionReport."""

from __future__ import annotations

from pathlib import Path

from models.db import session_scope
from services.read import exports

from .common import handles_errors


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write an election's public ballots.json, audit.json, results.json and nist-err.json")
    p.add_argument("election", help="election id or key")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write the files to")
    p.set_defaults(func=cmd_export)


@handles_errors
def cmd_export(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with session_scope() as session:
        results = exports.results_document(session, args.election)  # refuses before any file is written
        audit = exports.audit_document(session, args.election)
        nist_err = exports.nist_err_document(session, args.election)
        with open(out / "ballots.json", "w", encoding="utf-8") as handle:
            for piece in exports.ballots_chunks(session, args.election):
                handle.write(piece)
    (out / "audit.json").write_text(audit, encoding="utf-8")
    (out / "results.json").write_text(results, encoding="utf-8")
    (out / "nist-err.json").write_text(nist_err, encoding="utf-8")
    print(f"wrote {out / 'ballots.json'}, {out / 'audit.json'}, {out / 'results.json'}, {out / 'nist-err.json'}")
    return 0
