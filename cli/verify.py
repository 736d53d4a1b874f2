"""`tally verify BALLOTS_JSON AUDIT_JSON [RESULTS_JSON] [--public-key KEY.pem]`: re-tally the
published ballots, check both hash chains, the definition and the load batches against the published
audit log, and re-derive results.json if given (docs/verify-spec.md); with a public key, check the
manifest's signature and that it lists each file given (services.signing). Exit 0 when everything
matches, 1 on any difference (each printed with its place), 2 when a file cannot be read or is
malformed (one line, its place)."""

from __future__ import annotations

import json
from pathlib import Path

from services.signing import SigningError, manifest_differences, read_public_key
from services.verify import Malformed, verify

from .common import fail


def register(subparsers) -> None:
    p = subparsers.add_parser("verify", help="check published ballots.json, audit.json (and results.json)")
    p.add_argument("ballots", metavar="BALLOTS_JSON", help="the election's public ballots.json")
    p.add_argument("audit", metavar="AUDIT_JSON", help="the election's public audit.json")
    p.add_argument("results", metavar="RESULTS_JSON", nargs="?", help="the election's public results.json")
    p.add_argument("--public-key", metavar="FILE", help="the election office's public key (PEM): check the signed manifest")
    p.add_argument("--manifest", metavar="FILE", help="with --public-key: the manifest (default: manifest.json beside BALLOTS_JSON)")
    p.add_argument("--signature", metavar="FILE", help="with --public-key: its signature (default: the manifest's path + .sig)")
    p.set_defaults(func=cmd_verify)


PUBLIC_NAMES = ("ballots.json", "audit.json", "results.json")  # the files' names in a manifest


def cmd_verify(args) -> int:
    docs, texts = [], {}
    for name, path in zip(PUBLIC_NAMES, (args.ballots, args.audit, args.results), strict=True):
        if path is None:
            docs.append(None)
            continue
        try:
            with open(path, "rb") as handle:
                texts[name] = handle.read()
            docs.append(json.loads(texts[name]))
        except OSError as exc:
            return fail(f"cannot read {path}: {exc.strerror}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return fail(f"{path}: not valid JSON: {exc}")
        except RecursionError:
            return fail(f"{path}: nested too deeply to read")
    signed = []
    if args.public_key:
        try:
            signed = _signature_differences(args, texts)
        except (OSError, SigningError) as exc:
            return fail(getattr(exc, "message", None) or f"cannot read {exc.filename}: {exc.strerror}")
    try:
        report = verify(*docs)
    except Malformed as exc:
        return fail(exc.message)
    report.differences[:0] = signed
    for line in report.differences:
        print(line)
    summary = (
        ("signature checked, " if args.public_key else "") + f"{report.ballots} ballot(s), {report.events} audit event(s), {report.contests_retallied} contest "
        f"re-tally(ies), {report.rounds} round(s) checked"
        + (f", results.json: {report.results_checked} contest(s) re-derived" if args.results else "")
    )
    if report.ok:
        print(f"verify: OK: {summary}")
        return 0
    print(f"verify: {len(report.differences)} difference(s); {summary}")
    return 1


def _signature_differences(args, texts: dict[str, bytes]) -> list[str]:
    with open(args.public_key, "rb") as handle:
        key = read_public_key(handle.read(), args.public_key)
    manifest_path = Path(args.manifest) if args.manifest else Path(args.ballots).parent / "manifest.json"
    signature_path = Path(args.signature) if args.signature else Path(f"{manifest_path}.sig")
    manifest = manifest_path.read_bytes() if manifest_path.exists() else None
    signature = signature_path.read_bytes() if signature_path.exists() else None
    return manifest_differences(key, (str(manifest_path), manifest), (str(signature_path), signature), texts)
