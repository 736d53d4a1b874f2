"""`tally verify BALLOTS_JSON AUDIT_JSON [RESULTS_JSON]`: re-tally the published ballots, check both
hash chains, the definition and the load batches against the published audit log, and re-derive
results.json if given (docs/verify-spec.md). Exit 0 when everything matches, 1 on any difference
(each printed with its place), 2 when a file cannot be read or is malformed (one line, its place)."""

from __future__ import annotations

import json

from services.verify import Malformed, verify

from .common import fail


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="check published ballots.json, audit.json (and results.json)")
    p.add_argument("ballots", metavar="BALLOTS_JSON", help="the election's public ballots.json")
    p.add_argument("audit", metavar="AUDIT_JSON", help="the election's public audit.json")
    p.add_argument("results", metavar="RESULTS_JSON", nargs="?", help="the election's public results.json")
    p.set_defaults(func=cmd_verify)


def _read(path: str):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def cmd_verify(args) -> int:
    docs = []
    for path in (args.ballots, args.audit, args.results):
        if path is None:
            docs.append(None)
            continue
        try:
            docs.append(_read(path))
        except OSError as exc:
            return fail(f"cannot read {path}: {exc.strerror}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return fail(f"{path}: not valid JSON: {exc}")
        except RecursionError:
            return fail(f"{path}: nested too deeply to read")
    try:
        report = verify(*docs)
    except Malformed as exc:
        return fail(exc.message)
    for line in report.differences:
        print(line)
    summary = (
        f"{report.ballots} ballot(s), {report.events} audit event(s), {report.contests_retallied} contest "
        f"re-tally(ies), {report.rounds} round(s) checked"
        + (f", results.json: {report.results_checked} contest(s) re-derived" if args.results else "")
    )
    if report.ok:
        print(f"verify: OK: {summary}")
        return 0
    print(f"verify: {len(report.differences)} difference(s); {summary}")
    return 1
