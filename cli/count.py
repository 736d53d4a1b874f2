"""`tally count FILE`: count one contest from an interchange document (docs/interchange.md), or
`tally count --rctab-config CONFIG`: the contest an RCTab configuration describes, from its CVRs.

Prints the result JSON (sorted keys, indent 2), with `--format table` a readable table, with
`--format rctab` RCTab's detailed report JSON (ranked contests). Anything that cannot be counted
prints `error: <field>: <message>` (for a CVR: `error: <file>: <row or record>: <field>: <message>`)
and exits 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from counting.errors import CountingError, DefinitionError
from counting.interchange import count_document
from counting.table import format_table
from cvr.count import count_config
from cvr.errors import ConfigError, CvrError
from cvr.rctab_report import report

EXIT_BAD_INPUT = 2
EXIT_COUNT_FAILED = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("count", help="count one contest from an interchange JSON document or an RCTab configuration")
    parser.add_argument("file", metavar="FILE", nargs="?", help="interchange document; '-' reads standard input")
    parser.add_argument("--rctab-config", metavar="CONFIG", help="an RCTab contest configuration: count its CVR sources")
    parser.add_argument("--format", choices=("json", "table", "rctab"), default="json", help="output format (default json)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.rctab_config is None):
        return _fail("arguments", "give either FILE or --rctab-config CONFIG", EXIT_BAD_INPUT)
    output, number_of_winners = {}, None
    try:
        if args.rctab_config:
            result, plan = count_config(args.rctab_config)
            output, number_of_winners = plan.output, plan.number_of_winners
        else:
            result = _count_file(args.file)
            if isinstance(result, int):
                return result
    except ConfigError as exc:
        return _fail(exc.field, exc.message, EXIT_BAD_INPUT)
    except CvrError as exc:
        return _fail(exc.path, str(exc).removeprefix(exc.path + ": "), EXIT_BAD_INPUT)
    except DefinitionError as exc:
        return _fail(exc.field, exc.message, EXIT_BAD_INPUT)
    except CountingError as exc:
        return _fail(args.rctab_config or args.file, f"the count could not finish: {exc}", EXIT_COUNT_FAILED)
    if args.format == "table":
        sys.stdout.write(format_table(result))
    elif args.format == "rctab":
        if not result.get("rounds") and not result.get("passes"):
            return _fail("--format", f"rctab reports round-based counts; {result['method']} has no rounds", EXIT_BAD_INPUT)
        sys.stdout.write(json.dumps(report(result, output, number_of_winners), indent=2) + "\n")
    else:
        sys.stdout.write(json.dumps(result, sort_keys=True, indent=2) + "\n")
    return 0


def _count_file(path: str) -> dict | int:
    name = "<stdin>" if path == "-" else path
    try:
        document = _read_json(path)
    except OSError as exc:
        return _fail(name, exc.strerror or str(exc), EXIT_BAD_INPUT)
    except json.JSONDecodeError as exc:
        return _fail(name, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", EXIT_BAD_INPUT)
    except (UnicodeDecodeError, RecursionError) as exc:
        return _fail(name, f"unreadable JSON: {exc}", EXIT_BAD_INPUT)
    return count_document(document)


def _read_json(path: str):
    if path == "-":
        return json.loads(sys.stdin.buffer.read())
    with open(path, "rb") as handle:
        return json.loads(handle.read())


def _fail(field: str, message: str, code: int) -> int:
    print(f"error: {field}: {message}", file=sys.stderr)
    return code
