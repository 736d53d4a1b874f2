"""Live progress for `run --wait` and `status --watch`, on stderr, from the run's status in the
database (the finalize commit is the truth, never a Celery result): a `rich` progress bar on a
terminal; elsewhere (a log, a pipe) one plain line whenever the figures change."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn


def progress_line(state: dict, elapsed: float) -> str:
    done, total, ballots = _figures(state)
    rate = ballots / elapsed if elapsed > 0 else 0
    return (
        f"progress: {state.get('status')}: {done}/{total} areas, {ballots:,} ballots, "
        f"{elapsed:.1f} s, {rate:,.0f} ballots/s"
    )


def _figures(state: dict) -> tuple[int, int, int]:
    p = state.get("progress") or {}
    return p.get("areasDone", 0), p.get("areasTotal", 0), p.get("ballotsProcessed", 0)


class ProgressDisplay:
    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.monotonic()
        self.last = None
        self.bar = None
        if stream.isatty():
            self.bar = Progress(
                TextColumn("{task.fields[status]}"), BarColumn(),
                TextColumn("{task.completed}/{task.total} areas, {task.fields[ballots]:,} ballots, "
                           "{task.fields[rate]:,.0f} ballots/s"),
                TimeElapsedColumn(), console=Console(file=stream),
            )
            self.task = self.bar.add_task("tally", total=None, status="PENDING", ballots=0, rate=0)

    def show(self, state: dict) -> None:
        done, total, ballots = _figures(state)
        elapsed = time.monotonic() - self.started
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total or None, status=state.get("status"),
                            ballots=ballots, rate=ballots / elapsed if elapsed > 0 else 0)
            return
        figures = (state.get("status"), str(state.get("progress")))
        if figures != self.last:
            self.stream.write(progress_line(state, elapsed) + "\n")
            self.stream.flush()
        self.last = figures

    def __enter__(self) -> "ProgressDisplay":
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()
