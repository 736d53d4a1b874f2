"""`tally metrics [--serve --port N]`: print the Prometheus metrics once, or serve them (worker/metrics.py)."""

from __future__ import annotations

import argparse
import sys
import time

from worker.metrics import render, serve


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--serve", action="store_true", help="serve /metrics over HTTP instead of printing once")
    parser.add_argument("--port", type=int, default=9808, help="HTTP port (default 9808)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")


def register(subparsers) -> None:
    """`tally metrics`: for cli.main's SUBCOMMAND_MODULES."""
    parser = subparsers.add_parser("metrics", help="print or serve Prometheus metrics of the tally runs")
    _add_arguments(parser)
    parser.set_defaults(func=cmd_metrics)


def cmd_metrics(args) -> int:
    if not args.serve:
        sys.stdout.write(render())
        return 0
    serve(args.port, args.address)
    print(f"serving Prometheus metrics on http://{args.address}:{args.port}/metrics", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.metrics", description=__doc__.splitlines()[0])
    _add_arguments(parser)
    return cmd_metrics(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
