"""Helpers shared by the subcommands: errors printed for people, JSON printed for programs."""

from __future__ import annotations

import json
import sys

from services.errors import ServiceError

EXIT_ERROR = 2


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def print_json(value) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def handles_errors(func):
    """A ServiceError becomes `error: message` on stderr and exit status 2."""

    def wrapper(args) -> int:
        try:
            return func(args)
        except ServiceError as exc:
            return fail(exc.message)

    return wrapper
