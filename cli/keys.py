"""`tally key create [--out FILE]`: make the Ed25519 key that signs the public files' manifests and
print its public key; `tally key public`: print the public key of TALLY_SIGNING_KEY (services.signing)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from services.signing import SigningError, create_key, key_id, load_key, public_pem

from .common import fail


def register(subparsers) -> None:
    key = subparsers.add_parser("key", help="the key that signs the public files (Ed25519)")
    sub = key.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="make a signing key (never over an existing file) and print its public key")
    create.add_argument("--out", metavar="FILE", help="where to write it (default: TALLY_SIGNING_KEY)")
    create.set_defaults(func=cmd_create)
    public = sub.add_parser("public", help="print the public key of TALLY_SIGNING_KEY, to give to observers")
    public.set_defaults(func=cmd_public)


def _configured() -> Path | None:
    return Path(os.environ["TALLY_SIGNING_KEY"]) if os.environ.get("TALLY_SIGNING_KEY") else None


def cmd_create(args) -> int:
    path = Path(args.out) if args.out else _configured()
    if path is None:
        return fail("give --out FILE or set TALLY_SIGNING_KEY to where the key should be")
    try:
        key = create_key(path)
    except SigningError as exc:
        return fail(str(exc))
    sys.stdout.write(public_pem(key))
    print(f"key {key_id(key)} written to {path} (readable by you only); the public key above is what observers "
          "check signatures with: publish it apart from the results server", file=sys.stderr)
    return 0


def cmd_public(args) -> int:
    path = _configured()
    if path is None:
        return fail("TALLY_SIGNING_KEY is not set")
    try:
        key = load_key(path)
    except SigningError as exc:
        return fail(str(exc))
    sys.stdout.write(public_pem(key))
    print(f"key {key_id(key)}", file=sys.stderr)
    return 0
