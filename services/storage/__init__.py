"""Every SQL statement of the pipeline and the loader, and every difference between PostgreSQL and
SQLite, behind one interface.

`of(session)` is the implementation for the session's database: `common.Storage` holds the
statements both databases share, `postgres.PostgresStorage` and `sqlite.SQLiteStorage` what differs
(the driver's cursor for grouped ballot reads, upserts, COPY, snapshots). No other module asks which
database it is talking to."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.storage.common import Storage
from services.storage.postgres import PostgresStorage
from services.storage.sqlite import SQLiteStorage

_BY_DIALECT: dict[str, Storage] = {"postgresql": PostgresStorage(), "sqlite": SQLiteStorage()}


def of(session: Session) -> Storage:
    return _BY_DIALECT[session.get_bind().dialect.name]


__all__ = ["Storage", "of"]
