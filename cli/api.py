"""`tally api [--host --port]` serves the admin API and the public exports; `tally token create |
list | revoke` manage the API tokens (a new token is printed once: only its hash is stored)."""

from __future__ import annotations

import sys

from models.db import session_scope
from services import tokens

from .common import handles_errors, print_json


def register(subparsers) -> None:
    api = subparsers.add_parser("api", help="serve the admin tally API and the public exports (HTTP)")
    api.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    api.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    api.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    api.set_defaults(func=cmd_api)

    token = subparsers.add_parser("token", help="API tokens for the admin API")
    sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create a token and print it once (only its hash is stored)")
    create.add_argument("--role", required=True, help="ADMIN for the admin API; any other role is refused there")
    create.add_argument("--name", default="", help="who or what the token is for")
    create.set_defaults(func=cmd_token_create)
    listing = sub.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.set_defaults(func=cmd_token_list)
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", type=int)
    revoke.set_defaults(func=cmd_token_revoke)


def cmd_api(args) -> int:
    from api.app import create_app
    from api.server import serve
    from config.settings import load_settings

    settings = load_settings()
    serve(create_app(settings), settings, args.host, args.port, args.log_level)
    return 0


@handles_errors
def cmd_token_create(args) -> int:
    with session_scope() as session:
        created = tokens.create(session, args.role, args.name)
    print(created.token)
    print(
        f"token {created.id} ({created.role}{', ' + created.name if created.name else ''}) created; "
        "it is shown only this once: store it now",
        file=sys.stderr,
    )
    return 0


@handles_errors
def cmd_token_list(args) -> int:
    with session_scope() as session:
        print_json(tokens.listing(session))
    return 0


@handles_errors
def cmd_token_revoke(args) -> int:
    with session_scope() as session:
        revoked_at = tokens.revoke(session, args.id)
    print(f"token {args.id} revoked at {tokens.iso(revoked_at)}")
    return 0
