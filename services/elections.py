"""The one way to find an election, by its number or its key, for every caller: the CLI, the API,
the public URLs and the loaders. Text that can be neither (too long, a NUL, not UTF-8, a number past
the id column's range) is simply not found, never sent to the database, which would refuse it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m

from services.errors import NotFound
from services.limits import INT32_MAX, KEY_LIMIT, unstorable


def election_by_key(session: Session, key: str) -> m.Election | None:
    """The election with this key, or None."""
    if not key or len(key) > KEY_LIMIT or unstorable(key):
        return None
    return session.scalar(select(m.Election).where(m.Election.key == key))


def find_election(session: Session, ref: str | int) -> m.Election:
    """By number (an id first, then a key of those digits) or by key; NotFound names what was asked."""
    text = str(ref)
    election = None
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT32_MAX:
        election = session.get(m.Election, int(text))
    if election is None:
        election = election_by_key(session, text)
    if election is None:
        raise NotFound(f"no election {text!r}")
    return election
