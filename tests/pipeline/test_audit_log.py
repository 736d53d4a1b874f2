"""The audit log and the cast ballots are append-only in the database itself; audit events are hash-chained."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from models.db import session_scope
from services import audit, public_format
from tests import factories as f

pytestmark = pytest.mark.integration


def _election_with_events(url: str) -> int:
    definition = f.election("audit-1", [f.contest("c", "plurality-at-large")])
    election_id, _ = f.load(url, definition, [])
    with session_scope(url) as session:
        for i in range(3):
            audit.append(session, election_id, "note", {"i": i})
    return election_id


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET kind = 'forged'", "DELETE FROM audit_events"])
def test_audit_events_cannot_be_changed_through_the_database(pg_url, statement):
    _election_with_events(pg_url)
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope(pg_url) as session:
            session.execute(text(statement))
    with session_scope(pg_url) as session:
        kinds = session.execute(text("SELECT kind FROM audit_events ORDER BY seq")).scalars().all()
    assert kinds == ["note", "note", "note"]


def test_events_chain_by_hash(pg_url):
    election_id = _election_with_events(pg_url)
    with session_scope(pg_url) as session:
        rows = session.execute(
            text("SELECT seq, kind, run_id, created_at, payload, prev_hash, hash FROM audit_events "
                 "WHERE election_id = :e ORDER BY seq"), {"e": election_id}
        ).all()
    prev = public_format.GENESIS
    for seq, kind, run_id, created_at, payload, prev_hash, digest in rows:
        assert prev_hash == prev
        assert digest == public_format.event_hash(prev, seq, kind, run_id, created_at, payload)
        prev = digest
    assert [r[0] for r in rows] == [1, 2, 3]


@pytest.mark.parametrize("statement", ["UPDATE ballots SET weight = 100", "DELETE FROM ballots"])
def test_cast_ballots_cannot_be_changed_through_the_database(pg_url, statement):
    definition = f.election("ballots-1", [f.contest("c", "plurality-at-large")])
    f.load(pg_url, definition, f.random_ballots(definition, 20, seed=1))
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope(pg_url) as session:
            session.execute(text(statement))
    with session_scope(pg_url) as session:
        assert session.execute(text("SELECT count(*), max(weight) FROM ballots")).one()[0] == 20
