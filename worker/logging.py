"""Structured logs: one JSON object a line when TALLY_LOG_JSON is set, each naming the tally run,
contest and area it is about.

A tally task is sent with its fields (run id and the election/period/contest/area keys) in a message
header (`task_options`), beside the readable arguments Flower shows, "(run=7, e/p/c/a)", which are
rendered from the same fields. The task base class (tasks.base.TallyTask) binds them, with the ids
from the arguments and the task's name and id, in a context variable from just before the task runs
until Celery has logged how it ended, so `ContextFilter` adds them to every record made meanwhile,
whatever the logger, Celery's "succeeded" and "raised" lines included. Celery's "received" line is
logged in the worker's main process before any of that, from the request's `argsrepr`: the tally
request (tasks.base.TallyRequest) hands it a `Described` text that carries the fields too.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar, Token
from typing import Any

# Fields a record may carry, in output order.
FIELDS = ("run_id", "election", "period", "contest", "area", "contest_id", "area_id", "task", "task_id")

# None until bound: a dict default would be one object shared by every context.
_context: ContextVar[dict[str, Any] | None] = ContextVar("tally_log_context", default=None)

LABEL_PARTS = ("election", "period", "contest", "area")
HEADER = "tally_log"  # the message header holding a tally task's log fields


def task_options(run_id: int, keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Options that name a tally task: `argsrepr`, what Flower and Celery's log lines show, and the
    header with the same fields as data, for the logs. `keys`: election, period[, contest[, area]]."""
    fields: dict[str, Any] = {"run_id": run_id, **dict(zip(LABEL_PARTS, keys, strict=False))}
    label = "/".join(keys)
    return {"argsrepr": f"(run={run_id}, {label})" if label else f"(run={run_id})", "headers": {HEADER: fields}}


class Described(str):
    """A task's readable arguments that also carry its log fields (see the module docstring)."""

    fields: dict[str, Any]

    def __new__(cls, text: str, fields: dict[str, Any]) -> "Described":
        described = super().__new__(cls, text)
        described.fields = fields
        return described


def current() -> dict[str, Any]:
    return _context.get() or {}


def bind(**fields: Any) -> Token:
    """Add fields to every log record made until `unbind(token)` (bindings nest)."""
    return _context.set({**current(), **{k: v for k, v in fields.items() if v is not None}})


def unbind(token: Token) -> None:
    _context.reset(token)



class ContextFilter(logging.Filter):
    """Attaches the run/contest/area fields to a record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = dict(current())
        args = record.args
        if isinstance(args, dict) and "id" in args and "name" in args:  # Celery's task lines
            fields.setdefault("task", args.get("name"))
            fields.setdefault("task_id", args.get("id"))
            for key, value in getattr(args.get("args"), "fields", {}).items():
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
