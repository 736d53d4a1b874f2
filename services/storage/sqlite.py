"""SQLite (the embedded default): qmark parameters, executemany where COPY does not exist."""

from __future__ import annotations

from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from models import entities as m

from services.storage.common import BALLOT_COLUMNS, GROUPED, Storage


class SQLiteStorage(Storage):
    insert = staticmethod(sqlite.insert)

    def _driver_rows(self, session: Session, not_voided: str, params: tuple) -> list[tuple]:
        driver = session.connection().connection.driver_connection
        return driver.execute(GROUPED.format("?", not_voided), params).fetchall()

    def ballot_writer(self, session: Session, period_id: int, batch_id: int) -> _RowWriter:
        return _RowWriter(session, period_id, batch_id)

    def read_snapshot(self, session: Session) -> None:
        # Nothing asked of SQLite (as before this module): the driver opens no transaction for reads,
        # and the embedded mode's writers are this one process's tasks.
        return None


class _RowWriter:
    def __init__(self, session: Session, period_id: int, batch_id: int):
        self.session = session
        self.ids = (period_id, batch_id)
        self.rows: list[dict] = []

    def __enter__(self):
        return self

    def write(self, contest_id: int, area_id: int, contents: list[tuple]) -> None:
        prefix = (*self.ids, contest_id, area_id)
        self.rows += [dict(zip(BALLOT_COLUMNS, prefix + content, strict=True)) for content in contents]

    def __exit__(self, *exc):
        if exc[0] is None and self.rows:
            self.session.execute(m.Ballot.__table__.insert(), self.rows)
        return False
