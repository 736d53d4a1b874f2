"""Structured logs: one JSON object a line when TALLY_LOG_JSON is set, each naming the tally run,
contest and area it is about.

Two sources of those names:
- a context variable the task base class (tasks.base.TallyTask) sets for the duration of a task
  (run id, contest id, area id, task name and id, and the election/period/contest/area keys read
  from the task's readable arguments), picked up by `ContextFilter` for every record logged
  meanwhile, whatever the logger;
- Celery's own task lines ("received", "succeeded", "raised"), logged outside the task body,
  carry the task's `argsrepr` (see tasks/tally.py: "(run=7, election/period/contest/area)"), which
  `ContextFilter` parses the same way.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

# Fields a record may carry, in output order.
FIELDS = ("run_id", "election", "period", "contest", "area", "contest_id", "area_id", "task", "task_id")

_context: ContextVar[dict[str, Any]] = ContextVar("tally_log_context", default={})

_ARGSREPR = re.compile(r"^\(run=(?P<run>\d+)(?:, (?P<label>[^)]*))?\)$")
_LABEL_PARTS = ("election", "period", "contest", "area")


def task_argsrepr(run_id: int, label: str | None = None) -> str:
    """The readable arguments of a tally task, as Flower and the logs show them."""
    return f"(run={run_id}, {label})" if label else f"(run={run_id})"


def parse_argsrepr(text: Any) -> dict[str, Any]:
    """Fields named by a tally task's readable arguments; {} for anything else."""
    match = _ARGSREPR.match(text) if isinstance(text, str) else None
    if match is None:
        return {}
    fields: dict[str, Any] = {"run_id": int(match["run"])}
    if match["label"]:
        fields.update(zip(_LABEL_PARTS, match["label"].split("/", 3)))
    return fields


def current() -> dict[str, Any]:
    return _context.get()


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add fields to every log record made inside the block (nested blocks add to outer ones)."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Attaches the run/contest/area fields to a record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = dict(_context.get())
        args = record.args
        if isinstance(args, dict) and "id" in args and "name" in args:  # Celery's task lines
            fields.setdefault("task", args.get("name"))
            fields.setdefault("task_id", args.get("id"))
            for key, value in parse_argsrepr(args.get("args")).items():
                fields.setdefault(key, value)
        for key, value in fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, process, message, the context
    fields present, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        out: dict[str, Any] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc_info"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_json(level: int | str = logging.INFO, stream=None) -> logging.Handler:
    """Make the root logger write JSON lines (to stderr unless told), replacing its handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler
