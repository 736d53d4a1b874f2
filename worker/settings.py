"""Runtime settings, all from environment variables with documented defaults (see README and .env.example).

With nothing set, the tool runs embedded: a SQLite file and Celery in-process, so a first try needs no servers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str | None  # None: embedded, tasks run in-process
    result_backend: str | None
    advance_interval: int  # seconds between beat `advance` runs
    reconcile_interval: int
    stuck_after: int  # seconds a RUNNING run may go without progress before the reconciler acts
    visibility_timeout: int
    result_expires: int
    log_json: bool

    @property
    def embedded(self) -> bool:
        return self.broker_url is None


def load_settings() -> Settings:
    home = Path(os.environ.get("TALLY_HOME", "tally-data"))
    broker = os.environ.get("CELERY_BROKER_URL") or None
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or f"sqlite:///{home / 'tally.sqlite3'}",
        broker_url=broker,
        result_backend=os.environ.get("CELERY_RESULT_BACKEND") or broker,
        advance_interval=_int("TALLY_ADVANCE_INTERVAL", 30),
        reconcile_interval=_int("TALLY_RECONCILE_INTERVAL", 60),
        stuck_after=_int("TALLY_STUCK_AFTER", 900),
        visibility_timeout=_int("TALLY_VISIBILITY_TIMEOUT", 4 * 3600),
        result_expires=_int("TALLY_RESULT_EXPIRES", 7 * 24 * 3600),
        log_json=os.environ.get("TALLY_LOG_JSON", "") not in ("", "0", "false"),
    )
