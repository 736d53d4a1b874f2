"""Expected failures as one line for a person: what went wrong and what to do next, with the exit
status of docs/cli.md's table. Anything else is a bug and keeps its traceback; `TALLY_DEBUG=1`
shows the traceback of expected failures too."""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

import psycopg
import redis
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.exc import OperationalError as DatabaseError

from models.db import SchemaNotMigrated
from config.settings import load_settings

from .common import EXIT_BAD_INPUT, EXIT_UNAVAILABLE
from .urls import shown_url



@dataclass(frozen=True)
class Explained:
    status: int
    message: str


def _chain(exc: BaseException):
    """The exception and every exception it was raised from or during."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


def host_port(url: str | None) -> str:
    try:
        parsed = make_url(url or "")
        return f"{parsed.host or '127.0.0.1'}:{parsed.port or 6379}"
    except ArgumentError:
        return str(url)


def explain(exc: BaseException) -> Explained | None:
    """The one line for an expected failure, or None for anything else (a bug: keep the trace)."""
    settings = load_settings()
    database = shown_url(settings.database_url)
    for link in _chain(exc):
        if isinstance(link, SchemaNotMigrated):
            return Explained(EXIT_UNAVAILABLE, f"{link} ({database}): run: tally db upgrade")
        if isinstance(link, (NoSuchModuleError, ArgumentError)) or (
            isinstance(link, ModuleNotFoundError) and link.name in ("psycopg2", "MySQLdb", "pymysql")
        ):
            return Explained(
                EXIT_BAD_INPUT,
                f"DATABASE_URL {database} is not a database URL this tool can use ({_first_line(link)}): "
                "check DATABASE_URL, e.g. postgresql+psycopg://user@host:5432/db or sqlite:///path/file.sqlite3",
            )
        if _disk_full(link):
            return Explained(EXIT_UNAVAILABLE, f"disk full ({_first_line(link)}): free some space, then run it again")
        if isinstance(link, (DatabaseError, psycopg.OperationalError, sqlite3.OperationalError)):
            return Explained(
                EXIT_UNAVAILABLE,
                f"cannot use the database {database}: {_first_line(getattr(link, 'orig', None) or link)}: "
                "check DATABASE_URL and that the database server is running",
            )
        if isinstance(link, BrokerError):
            return Explained(
                EXIT_UNAVAILABLE,
                f"cannot reach the broker {shown_url(settings.broker_url)} ({_first_line(link)}): "
                f"is Redis at {host_port(settings.broker_url)} running? (CELERY_BROKER_URL)",
            )
        if isinstance(link, (redis.ConnectionError, redis.TimeoutError)):
            return Explained(
                EXIT_UNAVAILABLE,
                f"cannot reach the result backend {shown_url(settings.result_backend)} ({_first_line(link)}): "
                f"is Redis at {host_port(settings.result_backend)} running? (CELERY_RESULT_BACKEND)",
            )
    return None


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, psycopg.errors.DiskFull):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)
