"""`tally`: one command-line tool for operators and auditors.

Each subcommand lives in its own module exposing `register(subparsers)`; it sets `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMAND_MODULES = ["cli.count", "cli.operations", "cli.demo", "cli.api", "cli.verify", "cli.export", "cli.report", "cli.metrics", "cli.keys", "cli.ties"]
# Commands that need neither the database nor Celery, by their module: running one imports that module
# alone, since importing SQLAlchemy, the models and Celery takes seconds on a loaded machine.
STANDALONE = {"count": "cli.count", "verify": "cli.verify", "key": "cli.keys"}
# Subcommands that never open the database, or that set up its schema themselves.
WITHOUT_SCHEMA_CHECK = {"count", "verify", "db", "demo", "key"}
# A closed output pipe (`tally results | head`): stop quietly with the status of a process that
# SIGPIPE ended, as any Unix tool does.
EXIT_PIPE_CLOSED = 128 + 13


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tally", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in [STANDALONE[command]] if command in STANDALONE else SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    try:
        if args.command not in WITHOUT_SCHEMA_CHECK:
            from models.db import ensure_schema

            ensure_schema()
        status = args.func(args)
        sys.stdout.flush()  # a full disk or a closed pipe shows here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE_CLOSED
    except Exception as exc:
        from .errors import explain

        explained = explain(exc)
        if explained is None or os.environ.get("TALLY_DEBUG", "") not in ("", "0"):
            raise
        _silence_stdout()  # output that could not be written must not be retried at exit
        print(f"error: {explained.message}", file=sys.stderr)
        return explained.status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush has nowhere to fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
