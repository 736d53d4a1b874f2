"""`tally`: one command-line tool for operators and auditors.

Each subcommand lives in its own module exposing `register(subparsers)`; it sets `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES = ["cli.count", "cli.operations", "cli.demo", "cli.api", "cli.verify", "cli.export", "worker.metrics"]
# Commands that need neither the database nor Celery, by their module: running one imports that module
# alone, since importing SQLAlchemy, the models and Celery takes seconds on a loaded machine.
STANDALONE = {"count": "cli.count"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tally", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in [STANDALONE[command]] if command in STANDALONE else SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
