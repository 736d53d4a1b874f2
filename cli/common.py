"""Helpers shared by the subcommands: errors printed for people, JSON printed for programs. Nothing here
loads the database or Celery: `tally verify` and `tally count` import it and need neither."""

from __future__ import annotations

import json
import shutil
import sys

from services.errors import ServiceError

# The exit statuses of docs/cli.md's table.
EXIT_FAILED = 1  # the count could not finish, or a check found a difference
EXIT_BAD_INPUT = 2  # a file, an argument or a setting is wrong, or the request is refused: the message says which
EXIT_UNAVAILABLE = 3  # not possible now: a server unreachable, schema not migrated, disk full, no worker, timed out


TABLE_WIDTH = 100  # the columns of a table written to a pipe or a file


def terminal_width() -> int:
    """The columns a table may use: COLUMNS when set, else the terminal's, else `TABLE_WIDTH`."""
    return shutil.get_terminal_size((TABLE_WIDTH, 24)).columns


def fail(message: str, status: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


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
