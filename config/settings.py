"""Runtime settings, all from environment variables with documented defaults (docs/settings.md, .env.example).

With nothing set, the tool runs embedded: a SQLite file and Celery in-process, so a first try needs no servers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _seconds(name: str, default: float) -> float:
    """A duration in seconds, fractions allowed (the tests run beat every few tenths of a second)."""
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _limits(name: str, default: tuple[int, int]) -> tuple[int, int]:
    """A Celery time limit pair "SOFT/HARD" in seconds; the hard limit must be the later one."""
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    soft, _, hard = value.partition("/")
    pair = (int(soft), int(hard or soft))
    if pair[1] < pair[0]:
        raise ValueError(f"{name}: the hard limit ({pair[1]} s) must not come before the soft one ({pair[0]} s)")
    return pair


def _with_password(url: str | None, file_variable: str) -> str | None:
    """`url` with the password read from the file that `file_variable` names (compose's `secrets`
    volume), so that a password is written once, in one place, and never in a URL in a file. A URL
    that names no user (Redis without ACLs) takes no password and is left as it is."""
    path = os.environ.get(file_variable)
    if not url or not path or not urlsplit(url).username:
        return url
    try:
        password = Path(path).read_text().strip()
    except OSError as exc:
        raise ValueError(f"{file_variable}: cannot read {path} ({exc.strerror})") from None
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username}:{quote(password, safe='')}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str | None  # None: embedded, tasks run in-process
    result_backend: str | None
    advance_interval: float  # seconds between beat `advance` runs
    reconcile_interval: float
    stuck_after: int  # seconds a RUNNING run may go without progress before the reconciler acts
    lease_renew: float  # seconds between a running task's lease renewals (tasks.leases)
    lease_timeout: float  # a lease not renewed for this long names a lost worker
    visibility_timeout: int
    result_expires: int
    log_json: bool
    home: Path
    # Celery (soft, hard) time limits in seconds, per kind of task
    time_limit_start: tuple[int, int]
    time_limit_area: tuple[int, int]
    time_limit_contest: tuple[int, int]
    time_limit_finalize: tuple[int, int]
    time_limit_beat: tuple[int, int]
    # PostgreSQL session limits of the application's connections, in milliseconds (0: none)
    pg_statement_timeout: int
    pg_lock_timeout: int
    pg_idle_in_transaction_timeout: int
    judge_cache_bytes: int  # distinct ballots remembered by a worker process's area tasks, in bytes
    batch_ballots: int  # an area task message takes areas of one contest until their ballots reach this
    batch_areas: int  # ...or it has this many areas
    batch_messages: int  # ...and a larger budget where a contest would need more than this many messages
    db_app_role: str | None  # the role `tally db upgrade` grants the application's privileges to
    # admin API
    export_dir: Path
    signing_key: Path | None  # the Ed25519 key that signs each version's manifest (services.signing)
    export_concurrency: int
    max_body_bytes: int
    upload_max_bytes: int  # an uploaded file (a definition, ballots or a CVR export)
    upload_unpacked_bytes: int  # an uploaded .zip, unpacked
    upload_sync_bytes: int  # an upload larger than this is loaded after the answer (202 and a job to poll)
    load_jobs: int  # such loads an API process runs at once (the rest wait their turn, PENDING)
    min_batch: int  # a load of fewer ballots is refused unless asked for (services.loading.ballots)
    auth_failures: int  # failed token checks a client may make per auth_window seconds
    auth_window: int
    http_body_timeout: int
    http_send_timeout: int
    http_keepalive: int
    http_head_timeout: int  # seconds to receive a request's line and headers
    http_max_connections: int  # open connections an API process serves; past them: 503

    @property
    def embedded(self) -> bool:
        return self.broker_url is None


def load_settings() -> Settings:
    home = Path(os.environ.get("TALLY_HOME", "tally-data"))
    broker = _with_password(os.environ.get("CELERY_BROKER_URL") or None, "TALLY_BROKER_PASSWORD_FILE")
    database = _with_password(os.environ.get("DATABASE_URL"), "TALLY_DB_PASSWORD_FILE")
    return Settings(
        database_url=database or f"sqlite:///{home / 'tally.sqlite3'}",
        broker_url=broker,
        result_backend=os.environ.get("CELERY_RESULT_BACKEND") or broker,
        advance_interval=_seconds("TALLY_ADVANCE_INTERVAL", 30),
        reconcile_interval=_seconds("TALLY_RECONCILE_INTERVAL", 15),
        stuck_after=_int("TALLY_STUCK_AFTER", 900),
        lease_renew=_seconds("TALLY_LEASE_RENEW", 10),
        lease_timeout=_seconds("TALLY_LEASE_TIMEOUT", 30),
        visibility_timeout=_int("TALLY_VISIBILITY_TIMEOUT", 4 * 3600),
        result_expires=_int("TALLY_RESULT_EXPIRES", 24 * 3600),
        log_json=os.environ.get("TALLY_LOG_JSON", "") not in ("", "0", "false"),
        home=home,
        time_limit_start=_limits("TALLY_TIME_LIMIT_START", (300, 360)),
        time_limit_area=_limits("TALLY_TIME_LIMIT_AREA", (600, 660)),
        time_limit_contest=_limits("TALLY_TIME_LIMIT_CONTEST", (3600, 3660)),
        time_limit_finalize=_limits("TALLY_TIME_LIMIT_FINALIZE", (1800, 1860)),
        time_limit_beat=_limits("TALLY_TIME_LIMIT_BEAT", (120, 150)),
        pg_statement_timeout=_int("TALLY_PG_STATEMENT_TIMEOUT", 600_000),
        pg_lock_timeout=_int("TALLY_PG_LOCK_TIMEOUT", 60_000),
        pg_idle_in_transaction_timeout=_int("TALLY_PG_IDLE_IN_TRANSACTION_TIMEOUT", 3_700_000),
        judge_cache_bytes=_int("TALLY_JUDGE_CACHE_BYTES", 256 * 1024 * 1024),
        batch_ballots=max(1, _int("TALLY_BATCH_BALLOTS", 50_000)),
        batch_areas=max(1, _int("TALLY_BATCH_AREAS", 500)),
        batch_messages=max(1, _int("TALLY_BATCH_MESSAGES", 64)),
        db_app_role=os.environ.get("TALLY_DB_APP_ROLE") or None,
        export_dir=Path(os.environ.get("TALLY_EXPORT_DIR") or home / "exports"),
        signing_key=Path(os.environ["TALLY_SIGNING_KEY"]) if os.environ.get("TALLY_SIGNING_KEY") else None,
        export_concurrency=_int("TALLY_EXPORT_CONCURRENCY", 2),
        max_body_bytes=_int("TALLY_MAX_BODY_BYTES", 64 * 1024),
        upload_max_bytes=_int("TALLY_UPLOAD_MAX_BYTES", 2 << 30),
        upload_unpacked_bytes=_int("TALLY_UPLOAD_UNPACKED_BYTES", 8 << 30),
        upload_sync_bytes=_int("TALLY_UPLOAD_SYNC_BYTES", 16 << 20),
        load_jobs=max(1, _int("TALLY_LOAD_JOBS", 1)),
        min_batch=max(1, _int("TALLY_MIN_BATCH", 10)),
        auth_failures=_int("TALLY_AUTH_FAILURES", 20),
        auth_window=_int("TALLY_AUTH_WINDOW", 60),
        http_body_timeout=_int("TALLY_HTTP_BODY_TIMEOUT", 30),
        http_send_timeout=_int("TALLY_HTTP_SEND_TIMEOUT", 60),
        http_keepalive=_int("TALLY_HTTP_KEEPALIVE", 5),
        http_head_timeout=max(1, _int("TALLY_HTTP_HEAD_TIMEOUT", 10)),
        http_max_connections=max(1, _int("TALLY_HTTP_MAX_CONNECTIONS", 4096)),
    )
