"""`tally report ELECTION --out DIR`: the results site (report.site), written as static files with the
public files it links to under DIR/public/, ready to post as it is or to open from disk."""

from __future__ import annotations

from pathlib import Path

from models.db import session_scope
from report.site import INDEX, build
from services.read.report_data import site_document

from .common import handles_errors
from .export import write_public_files


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="write an election's results site: pages with round charts, CSV and XLSX")
    p.add_argument("election", help="election id or key")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to write the site to")
    p.set_defaults(func=cmd_report)


@handles_errors
def cmd_report(args) -> int:
    out = Path(args.out)
    with session_scope() as session:
        site_document(session, args.election, [])  # refuses an unpublished election before anything is written
        files = write_public_files(session, args.election, out / "public")
        doc = site_document(session, args.election, [{**f, "href": f"public/{f['name']}"} for f in files])
    pages = build(doc)
    for name, data in pages.items():
        (out / name).write_bytes(data)
    print(f"wrote {len(pages)} files and {len(files)} public files to {out}; open {out / INDEX}")
    return 0
