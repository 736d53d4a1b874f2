"""Engine and session factory: one engine per database URL and process."""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from config.settings import load_settings


def database_url() -> str:
    return load_settings().database_url


_engines: dict[str, Engine] = {}


def _session_limits() -> str:
    """PostgreSQL limits of the application's sessions (milliseconds, 0 = none): no statement, lock
    wait or idle open transaction may hold the server's resources forever."""
    settings = load_settings()
    return (f"-c statement_timeout={settings.pg_statement_timeout} -c lock_timeout={settings.pg_lock_timeout} "
            f"-c idle_in_transaction_session_timeout={settings.pg_idle_in_transaction_timeout}")


def _create(url: str, limits: bool = True) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if not limits:
        return create_engine(url, poolclass=NullPool)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5,
                         connect_args={"options": _session_limits()})


def migration_engine(url: str) -> Engine:
    """For Alembic only: the schema's owner, without the application's session limits (a
    migration may rightly take longer than any application statement)."""
    return _create(url, limits=False)


def get_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url not in _engines:
        _engines[url] = _create(url)
    return _engines[url]


def dispose_engines() -> None:
    """Called in each forked worker process: a connection shared by two processes corrupts both.
    `close=False` leaves the parent's sockets alone while the child forgets them."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _sessionmaker.cache_clear()


@lru_cache(maxsize=8)
def _sessionmaker(url: str) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error; then the after-commit callbacks."""
    session = _sessionmaker(url or database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        try:
            session.rollback()
        except Exception:
            # The connection is unusable (e.g. a time limit interrupted a query mid-flight): drop
            # it, and let the original error, not the rollback's, say what happened.
            session.invalidate()
        raise
    finally:
        session.close()
    for callback in session.info.pop("after_commit", []):
        callback()


def after_commit(session: Session, callback) -> None:
    """Run `callback` once the session's transaction has committed (e.g. enqueue a task, so that
    no worker ever looks for a row that was never committed); dropped on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


def alembic_config(url: str | None = None):
    from alembic.config import Config

    here = Path(__file__).resolve().parent
    config = Config()
    config.set_main_option("script_location", str(here / "migrations"))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head", app_role: str | None = None) -> tuple[str | None, str | None]:
    """Apply the Alembic migrations (`tally db upgrade`), then grant the application's role
    (`app_role` or TALLY_DB_APP_ROLE) its privileges on the tables as they now are. Returns the
    schema's revision before and after (None: no schema)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from models.roles import grant_app_role

    url = url or database_url()

    def revision_now() -> str | None:
        engine = migration_engine(url)
        try:
            with engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        finally:
            engine.dispose()

    before = revision_now()
    command.upgrade(alembic_config(url), revision)
    after = revision_now()
    role = app_role or load_settings().db_app_role
    if role:
        engine = migration_engine(url)
        try:
            with engine.begin() as connection:
                grant_app_role(connection, role)
        finally:
            engine.dispose()
    return before, after


class SchemaNotMigrated(Exception):
    """The database's schema is not the one this code needs (`tally db upgrade` makes it so)."""

    def __init__(self, current: str | None, head: str):
        super().__init__(f"the database schema is at revision {current or 'none'}, this version needs {head}")
        self.current = current
        self.head = head


def ensure_schema(url: str | None = None) -> None:
    """Before a command uses the database: the embedded SQLite file is created or upgraded on first
    use (nothing to set up); any other database must already be migrated, or SchemaNotMigrated."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    url = url or database_url()
    if url.startswith("sqlite"):
        upgrade(url)
        return
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    with get_engine(url).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaNotMigrated(current, head)

