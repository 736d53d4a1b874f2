"""`tally report ELECTION --out DIR`: the results site (report.site), written as static files with the
public files it links to under DIR/public/, ready to post as it is or to open from disk."""

from __future__ import annotations

from pathlib import Path

from models.db import session_scope
import sys

from report.sheets import contest_csv, overview_csv, workbook
from report.site import INDEX, build, contest_views
from services.read.report_data import site_document

from .common import fail, handles_errors
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


def write_sheet(args) -> int:
    """`tally results E --format csv|xlsx`: every contest's outcome as CSV (with --contest, that
    contest in RCTab's summary layout), or the whole workbook to --out FILE."""
    with session_scope() as session:
        doc = site_document(session, args.election, [])
    contests = contest_views(doc)
    if args.format == "xlsx":
        if not args.out:
            return fail("--format xlsx writes a workbook: give --out FILE")
        Path(args.out).write_bytes(workbook(doc, contests))
        print(f"wrote {args.out}")
        return 0
    if args.contest is None:
        data = overview_csv(contests)
    else:
        chosen = [c for c in contests if c.key == args.contest]
        if not chosen:
            return fail(f"no published contest {args.contest!r} in election {doc['election']['key']}")
        data = contest_csv(doc, chosen[-1])
    sys.stdout.buffer.write(data)
    return 0
