"""PostgreSQL: binary cursors, COPY, staging without a synchronous commit, REPEATABLE READ snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from operator import itemgetter

from psycopg.types.json import Jsonb
from sqlalchemy import func
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from models import entities as m

from services.storage.common import BALLOT_COLUMNS, GROUPED, Storage, not_voided

# Several areas of one contest in one statement, each still read by its own index scan and hash
# aggregate (the LATERAL subquery runs once per area, as GROUPED does): one round trip instead of
# one per area. One GROUP BY area_id, ballot over all of them sorted the whole batch instead, which
# took twice as long as a statement per area. Each row ends with its area id (common.GROUPED's
# rows), so the rows are split by area in C (groupby), not unpacked one by one. {0}: the voided
# batches left out.
GROUPED_AREAS = (
    "SELECT g.*, a.id FROM unnest(%s::int[]) AS a(id) CROSS JOIN LATERAL ("
    "SELECT marks, explicit_invalid, defect, raw, sum(weight), count(*) FROM ballots"
    " WHERE voting_period_id = %s AND contest_id = %s AND area_id = a.id{0}"
    " GROUP BY marks, explicit_invalid, defect, raw) AS g"
)

# Several areas' partials in one statement, from one array per column (binary: psycopg would escape
# every quote of the JSON texts in a text array), under the same RUNNING check and share lock as
# the one-area statement (common.Storage.stage_area_statement) and without a synchronous commit.
STAGE_AREAS = (
    "INSERT INTO staged_area_results (run_id, contest_id, area_id, operation, participation, result,"
    " valid_ballots, ballots_read, staged_at)"
    " SELECT r.id, %b, u.area_id, u.operation, u.participation, u.result, u.valid_ballots, u.ballots_read, %b"
    " FROM tally_runs AS r, unnest(%b::int[], %b::text[], %b::jsonb[], %b::jsonb[], %b::bytea[], %b::bigint[])"
    " AS u(area_id, operation, participation, result, valid_ballots, ballots_read)"
    " WHERE r.id = %b AND r.status = %b AND set_config('synchronous_commit', 'off', true) = 'off'"
    " FOR SHARE OF r"
    " ON CONFLICT (run_id, contest_id, area_id) DO UPDATE SET operation = excluded.operation,"
    " participation = excluded.participation, result = excluded.result, valid_ballots = excluded.valid_ballots,"
    " ballots_read = excluded.ballots_read, staged_at = excluded.staged_at"
    " RETURNING area_id"
)


class PostgresStorage(Storage):
    insert = staticmethod(postgresql.insert)

    def _driver_rows(self, session: Session, not_voided: str, params: tuple) -> list[tuple]:
        cursor = session.connection().connection.driver_connection.cursor(binary=True)  # bytea as bytes
        return cursor.execute(GROUPED.format("%s", not_voided), params).fetchall()

    def grouped_ballots_of_areas(
        self, session: Session, period_id: int, contest_id: int, area_ids: list[int], voided: Iterable[int]
    ) -> dict[int, list[tuple]]:
        out: dict[int, list] = {a: [] for a in area_ids}
        if area_ids:
            cursor = session.connection().connection.driver_connection.cursor(binary=True)
            query = GROUPED_AREAS.format(not_voided(voided))
            rows = cursor.execute(query, (list(area_ids), period_id, contest_id)).fetchall()
            for area_id, group in groupby(rows, itemgetter(6)):
                out[area_id].extend(group)  # extend: an area's rows need not come together
        return out

    def stage_areas(self, session: Session, values: list[dict]) -> bool:
        if not values:
            return True
        first = values[0]
        columns = [list(c) for c in zip(*(
            (v["area_id"], v["operation"], Jsonb(v["participation"]), Jsonb(v["result"]), v["valid_ballots"],
             v["ballots_read"]) for v in values
        ), strict=True)]
        params = (first["contest_id"], first["staged_at"], *columns, first["run_id"], m.RunStatus.RUNNING.value)
        cursor = session.connection().connection.driver_connection.cursor()
        return len(cursor.execute(STAGE_AREAS, params).fetchall()) == len(values)

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
    """Ballot rows through COPY FROM STDIN in text form: the text of each distinct content's columns is
    made once by psycopg's own row formatter (exactly what `write_row` sends), and a bucket's rows go as
    one block: its ids' text before each content's. The caller keeps the contents it writes alive until
    the writer closes (they are known by their identity: hashing them for each area would cost more)."""

    def __init__(self, session: Session, period_id: int, batch_id: int):
        self.cursor = session.connection().connection.driver_connection.cursor()
        self.ids = (period_id, batch_id)
        self.texts: dict[int, bytes] = {}  # id of a content -> its columns as COPY text, the newline included

    def __enter__(self):
        self.context = self.cursor.copy(f"COPY ballots ({', '.join(BALLOT_COLUMNS)}) FROM STDIN")
        self.copy = self.context.__enter__()
        return self

    def write(self, contest_id: int, area_id: int, contents: list[tuple]) -> None:
        if not contents:
            return
        ids = list(map(id, contents))
        texts = self.texts
        for key, content in dict(zip(ids, contents, strict=True)).items():
            if key not in texts:
                texts[key] = self._text(content)
        prefix = self._text((*self.ids, contest_id, area_id))[:-1] + b"\t"
        self.copy.write(prefix + prefix.join(map(texts.__getitem__, ids)))

    def _text(self, row: tuple) -> bytes:
        """One row's COPY text, from psycopg's formatter (its dumpers, its escaping), ending in a newline."""
        formatter = self.copy.formatter
        return bytes(formatter.write_row(row)) + bytes(formatter.end())

    def __exit__(self, *exc):
        return self.context.__exit__(*exc)
