"""`tally count FILE`: count one contest from an interchange document (docs/interchange.md), or
`tally count --rctab-config CONFIG`: the contest an RCTab configuration describes, from its CVRs.
`tally count FILE.blt --method M`: the contest of a BLT file (OpenSTV, OpaVote, ERS), counted by method M.

Prints the result JSON (sorted keys, indent 2), with `--format table` a readable table, with
`--format rctab` RCTab's detailed report JSON (ranked contests), with `--format rctab-csv` (of a
configuration) RCTab's detailed report CSV. Anything that cannot be counted
prints `error: <field>: <message>` (for a CVR: `error: <file>: <row or record>: <field>: <message>`)
and exits 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from typing import Iterator

from cli.common import terminal_width
from counting.blt import parse_blt
from counting import official
from counting.count import count_grouped, group_ballots
from counting.errors import CountingError, DefinitionError
from counting.official import TieNeedsDecision
from counting.outcome import NO_VALID_VOTES
from counting.interchange import count_document, count_read, read_stream
from counting.stream import DocumentStream, NotStreamable
from counting.table import format_table
from cvr.count import count_config
from cvr.errors import ConfigError, CvrError
from cvr.rctab_csv import detailed_csv
from cvr.rctab_report import precinct_report, report

EXIT_BAD_INPUT = 2
EXIT_COUNT_FAILED = 1
BLOCK = 4 << 20  # bytes read at a time: large enough that cutting records costs little per block


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("count", help="count one contest from an interchange JSON document or an RCTab configuration")
    parser.add_argument("file", metavar="FILE", nargs="?",
                        help="interchange document ('-' reads standard input), or a BLT file (named *.blt)")
    parser.add_argument("--method", metavar="M", help="with a BLT file: the counting method (e.g. scottish-stv, meek-stv)")
    parser.add_argument("--rctab-config", metavar="CONFIG", help="an RCTab contest configuration: count its CVR sources")
    parser.add_argument("--allow-outside-paths", action="store_true",
                        help="with --rctab-config: read CVR sources outside the configuration's folder")
    parser.add_argument("--format", choices=("json", "table", "rctab", "rctab-csv"), default="json", help="output format (default json)")
    parser.add_argument("--tie-decision", action="append", default=[], metavar="ROUND:CANDIDATE", type=_tie_decision,
                        help="with --rctab-config or a BLT file: an official's decision of a tie the rules leave to one "
                             "(RCTab's ask modes): in round ROUND (or 'cutoff'), CANDIDATE is chosen; once per "
                             "candidate, in order (docs/interchange.md, 'Ties an official decides')")
    parser.add_argument("--precinct", metavar="NAME",
                        help="with --format rctab or rctab-csv and a configuration that tabulates by precinct: that precinct's report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if (args.file is None) == (args.rctab_config is None):
        return _fail("arguments", "give either FILE or --rctab-config CONFIG", EXIT_BAD_INPUT)
    output, number_of_winners, contest = {}, None, None
    try:
        if args.rctab_config:
            result, plan, notes = count_config(args.rctab_config, args.allow_outside_paths, args.tie_decision)
            output, number_of_winners, contest = plan.output, plan.number_of_winners, plan.contest
            for line in notes.lines():
                print(f"warning: {line}", file=sys.stderr)
        else:
            result = _count_path(args.file, args.method, args.tie_decision)
            if isinstance(result, int):
                return result
    except ConfigError as exc:
        return _fail(exc.field, exc.message, EXIT_BAD_INPUT)
    except CvrError as exc:
        return _fail(exc.path, str(exc).removeprefix(exc.path + ": "), EXIT_BAD_INPUT)
    except DefinitionError as exc:
        return _fail(exc.field, exc.message, EXIT_BAD_INPUT)
    except TieNeedsDecision as exc:
        where = "cutoff" if exc.round is None else exc.round
        how = ("its contest's options.tie_decisions" if args.rctab_config is None and not _is_blt(args.file)
               else f"--tie-decision {where}:CANDIDATE")
        return _fail(args.rctab_config or args.file, f"the count stops at a tie: {exc} ({how})", EXIT_COUNT_FAILED)
    except CountingError as exc:
        return _fail(args.rctab_config or args.file, f"the count could not finish: {exc}", EXIT_COUNT_FAILED)
    if args.format == "table":
        sys.stdout.write(format_table(result, terminal_width()))
    elif args.format in ("rctab", "rctab-csv"):
        return _print_rctab(args, result, output, number_of_winners, contest)
    else:
        sys.stdout.write(json.dumps(result, sort_keys=True, indent=2) + "\n")
    return 0


def _print_rctab(args: argparse.Namespace, result: dict, output: dict, number_of_winners: int | None,
                 contest: dict | None) -> int:
    if NO_VALID_VOTES in result.get("notes", []):
        return _fail("--format", f"{NO_VALID_VOTES.lower()}: there are no rounds for RCTab's report to show",
                     EXIT_BAD_INPUT)
    if not result.get("rounds") and not result.get("passes"):
        return _fail("--format", f"rctab and rctab-csv report round-based counts; {result['method']} has no rounds",
                     EXIT_BAD_INPUT)
    if args.format == "rctab-csv" and contest is None:
        # the CSV's layout follows the configuration's rules (winner mode, threshold), which a FILE does not give
        return _fail("--format", "rctab-csv reports a count of --rctab-config CONFIG", EXIT_BAD_INPUT)
    if args.precinct is None:
        doc = report(result, output, number_of_winners)
    elif args.precinct in result.get("precincts", {}):
        doc = precinct_report(result, args.precinct, output, number_of_winners)
    else:
        return _fail("--precinct", f"no per-precinct rounds for {args.precinct!r} (the configuration must set "
                     "tabulateByPrecinct, the method follow whole ballots, and the precinct exist)", EXIT_BAD_INPUT)
    if args.format == "rctab":
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    elif isinstance(doc, list):  # multi-pass: each pass's report in turn, as RCTab writes one file per pass
        passes = zip(doc, result["passes"], strict=True)
        sys.stdout.write("".join(detailed_csv(d, contest, p["rounds"]) for d, p in passes))
    else:
        sys.stdout.write(detailed_csv(doc, contest, result["rounds"]))
    return 0


def _is_blt(path: str) -> bool:
    return path.lower().endswith(".blt")


def _tie_decision(text: str) -> tuple[int | None, str]:
    round_text, sep, candidate = text.partition(":")
    if not sep or not candidate or not (round_text == "cutoff" or (round_text.isdigit() and int(round_text) >= 1)):
        raise argparse.ArgumentTypeError(f"expected ROUND:CANDIDATE (ROUND a number, or 'cutoff'), got {text!r}")
    return (None if round_text == "cutoff" else int(round_text)), candidate


def _count_path(path: str, method: str | None, tie_decisions: list) -> dict | int:
    """FILE: a BLT file (by its name) counted by `method`, else an interchange document, which names its own
    method and its tie decisions."""
    if _is_blt(path):
        if not method:
            return _fail("--method", "a BLT file names no counting method: give --method (e.g. scottish-stv)",
                         EXIT_BAD_INPUT)
        return _count_blt(path, method, tie_decisions)
    if method:
        return _fail("--method", "only for a BLT file (*.blt): an interchange document names its method", EXIT_BAD_INPUT)
    if tie_decisions:
        return _fail("--tie-decision", "an interchange document gives its decisions in its contest's "
                     "options.tie_decisions", EXIT_BAD_INPUT)
    return _count_file(path)


def _count_blt(path: str, method: str, tie_decisions: list) -> dict | int:
    try:
        text = _read(path).decode("utf-8")
    except OSError as exc:
        return _fail(path, exc.strerror or str(exc), EXIT_BAD_INPUT)
    except UnicodeDecodeError as exc:
        return _fail(path, f"not UTF-8 text (byte {exc.start})", EXIT_BAD_INPUT)
    election = parse_blt(text, path)
    contest, grouped = election.contest(method), group_ballots(election.ballots)
    return official.deciding(
        lambda decisions: count_grouped(official.with_decisions(contest, decisions), grouped).to_json(), tie_decisions)


def _count_file(path: str) -> dict | int:
    # A one-shot count keeps what it reads to the end: the cyclic collector's passes over millions of new
    # containers would be most of the reading time (docs/benchmarks.md) and would free nothing.
    gc.disable()
    try:
        return _read_and_count(path)
    finally:
        gc.enable()


def _read_and_count(path: str) -> dict | int:
    """Count the document as it is read (`counting.stream`), or read whole when it must be: the same result."""
    name = "<stdin>" if path == "-" else path
    streamed = document = None
    try:
        data = sys.stdin.buffer.read() if path == "-" else None
        try:
            streamed = read_stream(DocumentStream(_blocks(path, data)))
        except NotStreamable:
            document = json.loads(data if data is not None else _read(path))
    except OSError as exc:
        return _fail(name, exc.strerror or str(exc), EXIT_BAD_INPUT)
    except json.JSONDecodeError as exc:
        return _fail(name, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", EXIT_BAD_INPUT)
    except (UnicodeDecodeError, RecursionError) as exc:
        return _fail(name, f"unreadable JSON: {exc}", EXIT_BAD_INPUT)
    return count_read(*streamed) if streamed else count_document(document)


def _blocks(path: str, data: bytes | None) -> Iterator[bytes]:
    if data is not None:
        yield from (data[start : start + BLOCK] for start in range(0, len(data), BLOCK))
        return
    with open(path, "rb") as handle:
        while block := handle.read(BLOCK):
            yield block


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _fail(field: str, message: str, code: int) -> int:
    print(f"error: {field}: {message}", file=sys.stderr)
    return code
