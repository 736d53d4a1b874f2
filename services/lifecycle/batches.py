"""Load batches: each load of ballots into a period is one batch, recorded in the audit chain.

A batch's ballots are the positions [count_before, count_after) of its period's ballot chain, so
its chain heads before and after pin them. Its content digest does not depend on order: the
sha256 of the canonical JSON of the sorted [entry hash, occurrences] pairs of its ballots, so the
same ballots loaded again, in any order, are found. Before a period is sealed a batch can be
voided (commands.VoidBatch): an appended audit event (and `voided_at`), never a delete; its ballots stay stored and
published, and are not counted."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import entities as m

from services import audit

from services.lifecycle import periods
from services.public_format import BALLOT_ORDER, LOADED



def voided(session: Session, period_id: int) -> list[m.LoadBatch]:
    return session.scalars(
        select(m.LoadBatch)
        .where(m.LoadBatch.voting_period_id == period_id, m.LoadBatch.voided_at.is_not(None))
        .order_by(m.LoadBatch.id)
    ).all()


def counted_ballots(session: Session, period: m.VotingPeriod) -> int:
    """The period's ballots that count: all loaded, less those of voided batches."""
    void = session.scalar(
        select(func.coalesce(func.sum(m.LoadBatch.records), 0)).where(
            m.LoadBatch.voting_period_id == period.id, m.LoadBatch.voided_at.is_not(None)
        )
    )
    return period.ballots_count - int(void)


def earlier_copy(session: Session, batch: m.LoadBatch) -> m.LoadBatch | None:
    """A batch of the same period, not voided, with the same content."""
    return session.scalar(
        select(m.LoadBatch)
        .where(
            m.LoadBatch.voting_period_id == batch.voting_period_id,
            m.LoadBatch.content_digest == batch.content_digest,
            m.LoadBatch.id != batch.id,
            m.LoadBatch.voided_at.is_(None),
        )
        .order_by(m.LoadBatch.id)
        .limit(1)
    )


def record(session: Session, batch: m.LoadBatch, period: m.VotingPeriod, definition_hash: str) -> None:
    """The batch's audit event, appended once its ballots are written."""
    audit.append(
        session,
        batch.election_id,
        LOADED,
        {
            "batch_id": batch.id,
            "voting_period_id": period.id,
            "period": period.name,
            "records": batch.records,
            "weight": batch.weight,
            "content_digest": batch.content_digest,
            "file_sha256": batch.file_sha256,
            "count_before": batch.count_before,
            "count_after": batch.count_after,
            "chain_before": batch.chain_before,
            "chain_after": batch.chain_after,
            "duplicate_of": batch.duplicate_of,
            "definition_hash": definition_hash,
            "ballot_order": BALLOT_ORDER,
        },
    )


def listing(session: Session, election_id: int, period_id: int) -> list[m.LoadBatch]:
    periods.locate(session, election_id, period_id)
    return list(session.scalars(
        select(m.LoadBatch).where(m.LoadBatch.voting_period_id == period_id).order_by(m.LoadBatch.id)
    ))


