"""A live progress line for `run --wait` and `status --watch`, drawn on stderr from the run's
status in the database (the finalize commit is the truth, never a Celery result)."""

from __future__ import annotations

import sys
import time

BAR_WIDTH = 30


def progress_line(state: dict, elapsed: float) -> str:
    p = state.get("progress") or {}
    done, total, ballots = p.get("areasDone", 0), p.get("areasTotal", 0), p.get("ballotsProcessed", 0)
    filled = int(BAR_WIDTH * done / total) if total else 0
    rate = ballots / elapsed if elapsed > 0 else 0
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {state.get('status')}: {done}/{total} areas, "
        f"{ballots:,} ballots, {elapsed:.1f} s, {rate:,.0f} ballots/s"
    )


class ProgressDisplay:
    """Redraws one line on a terminal; elsewhere prints a line whenever the figures change."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.started = time.monotonic()
        self.last = None
        self.tty = stream.isatty()

    def show(self, state: dict) -> None:
        line = progress_line(state, time.monotonic() - self.started)
        figures = (state.get("status"), str(state.get("progress")))
        if self.tty:
            self.stream.write("\r" + line)
        elif figures != self.last:
            self.stream.write(line + "\n")
        self.last = figures
        self.stream.flush()

    def __enter__(self) -> "ProgressDisplay":
        return self

    def __exit__(self, *exc) -> None:
        if self.tty:
            self.stream.write("\n")
