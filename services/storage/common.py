"""The statements PostgreSQL and SQLite share; the subclasses fill in what differs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from functools import cached_property

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from models import entities as m

# What the area stage stages for one (run, contest, area): the key, then the upserted columns.
STAGED_COLUMNS = (
    "run_id", "contest_id", "area_id",
    "operation", "participation", "result", "valid_ballots", "ballots_read", "staged_at",
)

# An area's counted ballots grouped: (marks, explicit_invalid, defect, raw, summed weight, records,
# area id). {0} is the driver's placeholder, {1} the voided batches left out.
GROUPED = (
    "SELECT marks, explicit_invalid, defect, raw, sum(weight), count(*), area_id FROM ballots"
    " WHERE voting_period_id = {0} AND contest_id = {0} AND area_id = {0}{1}"
    " GROUP BY marks, explicit_invalid, defect, raw, area_id"
)

# A stored ballot row's columns, in the order the loader writes them.
BALLOT_COLUMNS = (
    "voting_period_id", "batch_id", "contest_id", "area_id", "marks", "weight", "explicit_invalid", "defect", "raw"
)

# Staged multisets fetched at a time: a few megabytes (an area's is tens of kilobytes), where 16 at a
# time made a round trip per 16 areas (625 for 10,000 areas).
_MULTISETS_AT_ONCE = 256


def not_voided(voided: Iterable[int]) -> str:
    """The condition GROUPED adds to leave out the ballots of voided load batches (ids, so inlined)."""
    ids = [str(int(b)) for b in voided]
    return " AND coalesce(batch_id, 0) NOT IN ({})".format(",".join(ids)) if ids else ""


class Storage:
    """One database's statements. Subclasses set `insert` (the dialect's INSERT with ON CONFLICT)
    and implement `_driver_rows`, `ballot_writer` and `read_snapshot`."""

    insert = None  # sqlalchemy.dialects.<name>.insert

    # -- ballots ------------------------------------------------------------------------------

    def grouped_ballots(
        self, session: Session, period_id: int, contest_id: int, area_id: int, voided: Iterable[int]
    ) -> list[tuple]:
        """The area's counted ballots grouped, straight from the driver: at thousands of distinct
        ballots per area, result rows made by SQLAlchemy would cost more than the count. Ballots of
        voided batches are left out (their ids are the run's, frozen since the period was sealed)."""
        return self._driver_rows(session, not_voided(voided), (period_id, contest_id, area_id))

    def grouped_ballots_of_areas(
        self, session: Session, period_id: int, contest_id: int, area_ids: list[int], voided: Iterable[int]
    ) -> dict[int, list[tuple]]:
        """grouped_ballots of several areas of one contest: area id -> its grouped rows."""
        return {a: self.grouped_ballots(session, period_id, contest_id, a, voided) for a in area_ids}

    @staticmethod
    def ballot_counts(session: Session, period_id: int) -> dict[tuple[int, int], int]:
        """(contest id, area id) -> ballot rows stored for the period: what sizes the area tasks.
        Read from the counts each load wrote (m.AreaBallotCount), a few rows per area, where
        counting the ballots themselves was a pass over all of them (1.25 s at 10M ballots).
        Ballots of voided batches count too: an area task reads them as well, to leave them out."""
        c = m.AreaBallotCount
        rows = session.execute(
            select(c.contest_id, c.area_id, func.sum(c.records)).where(c.voting_period_id == period_id)
            .group_by(c.contest_id, c.area_id)
        )
        return {(contest_id, area_id): int(n) for contest_id, area_id, n in rows}

    def _driver_rows(self, session: Session, not_voided: str, params: tuple) -> list[tuple]:
        raise NotImplementedError

    def ballot_writer(self, session: Session, period_id: int, batch_id: int) -> AbstractContextManager:
        """A context whose `write(contest_id, area_id, contents)` stores ballot rows of one load batch;
        contents are (marks, weight, explicit_invalid, defect, raw). Written when the context exits."""
        raise NotImplementedError

    def read_snapshot(self, session: Session) -> None:
        """Make the session's transaction read one snapshot (its first statement not yet run)."""
        raise NotImplementedError

    # -- areas and runs -----------------------------------------------------------------------

    @staticmethod
    def election_areas(session: Session, election_id: int) -> dict[int, m.Area]:
        """Every area of the election in one query; later `style.area` and `area.parent` lookups then
        come from the session's identity map instead of one query per area."""
        return {a.id: a for a in session.scalars(select(m.Area).where(m.Area.election_id == election_id))}

    # -- staging ------------------------------------------------------------------------------

    def _staging_source(self, source):
        """The dialect's additions to the staging statement's SELECT (none by default)."""
        return source

    @cached_property
    def stage_area_statement(self):
        """INSERT ... SELECT FROM tally_runs WHERE RUNNING FOR SHARE, upserted by (run, contest, area):
        one statement, built once per database, so SQLAlchemy compiles it once."""
        table = m.StagedAreaResult.__table__
        run = m.TallyRun.__table__
        source = self._staging_source(
            select(*(bindparam(c, type_=table.c[c].type) for c in STAGED_COLUMNS))
            .where(run.c.id == bindparam("run_id"), run.c.status == m.RunStatus.RUNNING.value)
            .with_for_update(read=True)
        )
        insert = self.insert(table).from_select(list(STAGED_COLUMNS), source)
        return insert.on_conflict_do_update(
            index_elements=["run_id", "contest_id", "area_id"],
            set_={c: getattr(insert.excluded, c) for c in STAGED_COLUMNS[3:]},
        ).returning(table.c.run_id)

    def stage_area(self, session: Session, values: dict) -> bool:
        """Stage one area's partial (`values`: STAGED_COLUMNS) while its run is RUNNING, checked under
        a share lock held until this commits: area tasks do not wait for each other, but a run failed
        meanwhile (its staging dropped) gets no partial staged after it. False if not staged."""
        return session.execute(self.stage_area_statement, values).first() is not None

    def stage_areas(self, session: Session, values: list[dict]) -> bool:
        """Stage several areas' partials of one run (each as stage_area) in this transaction; False
        if the run is not RUNNING, and then none is staged."""
        return all(self.stage_area(session, v) for v in values)

    @staticmethod
    def staged_area_ids(session: Session, run_id: int, contest_id: int, area_ids: list[int]) -> set[int]:
        """Which of these areas already have a partial staged for the run."""
        t = m.StagedAreaResult
        return set(session.scalars(
            select(t.area_id).where(t.run_id == run_id, t.contest_id == contest_id, t.area_id.in_(area_ids))
        ))

    @staticmethod
    def staged_areas(session: Session, run_id: int, contest_id: int) -> list:
        """A contest's staged partials without their valid-ballot multisets (see staged_multisets):
        rows of area_id, operation, participation, result, ballots_read. Plain rows, not ORM objects:
        at 10,000 areas the objects cost more than reading them."""
        t = m.StagedAreaResult.__table__
        return session.execute(
            select(t.c.area_id, t.c.operation, t.c.participation, t.c.result, t.c.ballots_read)
            .where(t.c.run_id == run_id, t.c.contest_id == contest_id)
        ).all()

    @staticmethod
    def staged_multisets(session: Session, run_id: int, contest_id: int, area_ids=None) -> Iterator[bytes]:
        """The areas' (all the contest's if None) staged valid-ballot multisets, streamed a few at a
        time: all of a large contest's at once would hold every area's distinct ballots in memory."""
        t = m.StagedAreaResult.__table__
        query = select(t.c.valid_ballots).where(t.c.run_id == run_id, t.c.contest_id == contest_id)
        if area_ids is not None:
            query = query.where(t.c.area_id.in_(area_ids))
        for (blob,) in session.execute(query.execution_options(yield_per=_MULTISETS_AT_ONCE)):
            yield blob

    def stage_contest(self, session: Session, run_id: int, contest_id: int, payload: dict) -> None:
        table = m.StagedContestResult.__table__
        stmt = self.insert(table).values(run_id=run_id, contest_id=contest_id, payload=payload)
        session.execute(stmt.on_conflict_do_update(index_elements=["run_id", "contest_id"], set_={"payload": payload}))

    @staticmethod
    def staged_contest_count(session: Session, run_id: int) -> int:
        return session.scalar(select(func.count()).where(m.StagedContestResult.run_id == run_id))

    @staticmethod
    def staged_contests(session: Session, run_id: int) -> dict[int, dict]:
        """contest id -> its staged payload."""
        rows = session.scalars(select(m.StagedContestResult).where(m.StagedContestResult.run_id == run_id))
        return {s.contest_id: s.payload for s in rows}

    @staticmethod
    def drop_staging(session: Session, run_id: int) -> None:
        """A run's staged partials, dropped when it is published or fails."""
        session.execute(delete(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id))
        session.execute(delete(m.StagedContestResult).where(m.StagedContestResult.run_id == run_id))
