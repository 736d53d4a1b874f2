"""PostgreSQL: binary cursors, COPY, staging without a synchronous commit, REPEATABLE READ snapshots."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from .common import BALLOT_COLUMNS, GROUPED, Storage


class PostgresStorage(Storage):
    insert = staticmethod(postgresql.insert)

    def _driver_rows(self, session: Session, not_voided: str, params: tuple) -> list[tuple]:
        cursor = session.connection().connection.driver_connection.cursor(binary=True)  # bytea as bytes
        return cursor.execute(GROUPED.format("%s", not_voided), params).fetchall()

    def _staging_source(self, source):
        # A staged partial can always be made again, so its commit need not wait for the disk: a
        # database crash that loses it fails or stalls the run (retry / reconciler), never the count.
        # Set for this transaction here, in the statement, rather than by a round trip of its own.
        return source.where(func.set_config("synchronous_commit", "off", True) == "off")

    def ballot_writer(self, session: Session, period_id: int, batch_id: int) -> _CopyWriter:
        return _CopyWriter(session, period_id, batch_id)

    def read_snapshot(self, session: Session) -> None:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


class _CopyWriter:
    """Ballot rows through COPY FROM STDIN; psycopg escapes each value (write_row)."""

    def __init__(self, session: Session, period_id: int, batch_id: int):
        self.cursor = session.connection().connection.driver_connection.cursor()
        self.ids = (period_id, batch_id)

    def __enter__(self):
        self.context = self.cursor.copy(f"COPY ballots ({', '.join(BALLOT_COLUMNS)}) FROM STDIN")
        self.copy = self.context.__enter__()
        return self

    def write(self, contest_id: int, area_id: int, contents: list[tuple]) -> None:
        prefix = (*self.ids, contest_id, area_id)
        write_row = self.copy.write_row
        for content in contents:
            write_row(prefix + content)

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)
