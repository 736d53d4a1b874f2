"""`tally count FILE`: count one contest from an interchange document (docs/interchange.md).

Prints the result JSON (sorted keys, indent 2) or, with `--format table`, a readable table.
A document that cannot be counted prints `error: <field>: <message>` and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from counting.errors import CountingError, DefinitionError
from counting.interchange import count_document
from counting.table import format_table

EXIT_BAD_INPUT = 2
EXIT_COUNT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("count", help="count one contest from an interchange JSON document")
    parser.add_argument("file", metavar="FILE", help="interchange document; '-' reads standard input")
    parser.add_argument("--format", choices=("json", "table"), default="json", help="output format (default json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    name = "<stdin>" if args.file == "-" else args.file
    try:
        document = _read_json(args.file)
    except OSError as exc:
        return _fail(name, exc.strerror or str(exc), EXIT_BAD_INPUT)
    except json.JSONDecodeError as exc:
        return _fail(name, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", EXIT_BAD_INPUT)
    except (UnicodeDecodeError, RecursionError) as exc:
        return _fail(name, f"unreadable JSON: {exc}", EXIT_BAD_INPUT)
    try:
        result = count_document(document)
    except DefinitionError as exc:
        return _fail(exc.field, exc.message, EXIT_BAD_INPUT)
    except CountingError as exc:
        return _fail(name, f"the count could not finish: {exc}", EXIT_COUNT_FAILED)
    if args.format == "table":
        sys.stdout.write(format_table(result))
    else:
        sys.stdout.write(json.dumps(result, sort_keys=True, indent=2) + "\n")
    return 0


def _read_json(path: str):
    if path == "-":
        return json.loads(sys.stdin.buffer.read())
    with open(path, "rb") as handle:
        return json.loads(handle.read())


def _fail(field: str, message: str, code: int) -> int:
    print(f"error: {field}: {message}", file=sys.stderr)
    return code
