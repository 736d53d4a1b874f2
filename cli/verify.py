"""`tally verify BALLOTS_JSON AUDIT_JSON`: re-tally the published ballots and check both hash
chains against the published audit log. Exit 0 when everything matches, 1 on any difference
(each printed with its place), 2 when a file cannot be read."""

from __future__ import annotations

import json

from services.verify import verify

from .common import fail


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="check a published ballots.json against its audit.json")
    p.add_argument("ballots", metavar="BALLOTS_JSON", help="the election's public ballots.json")
    p.add_argument("audit", metavar="AUDIT_JSON", help="the election's public audit.json")
    p.set_defaults(func=cmd_verify)


def _read(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def cmd_verify(args) -> int:
    docs = []
    for path in (args.ballots, args.audit):
        try:
            docs.append(_read(path))
        except OSError as exc:
            return fail(f"cannot read {path}: {exc.strerror}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return fail(f"{path}: not valid JSON: {exc}")
    report = verify(*docs)
    for line in report.differences:
        print(line)
    summary = (
        f"{report.ballots} ballot(s), {report.events} audit event(s), {report.contests_retallied} contest "
        f"re-tally(ies), {report.rounds} round(s) checked"
    )
    if report.ok:
        print(f"verify: OK: {summary}")
        return 0
    print(f"verify: {len(report.differences)} difference(s); {summary}")
    return 1
