"""API tokens: created by the operator's CLI, shown once, stored only as their SHA-256 hash.

A token is 32 random bytes (URL-safe base64) with a `tly_` prefix so that it is recognisable in
a leaked file. The database holds `sha256(token)`; a lookup hashes the presented token."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.entities import ApiToken

from services.errors import NotFound, ServiceError
from services.lifecycle.periods import iso, now

ADMIN = "ADMIN"
PREFIX = "tly_"
_ROLE = re.compile(r"^[A-Z][A-Z0-9_]{0,49}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def normalise_role(role: str) -> str:
    value = (role or "").strip().upper()
    if not _ROLE.match(value):
        raise ServiceError(f"role: must be a word of letters, digits and _ (e.g. {ADMIN}), got {role!r}")
    return value


@dataclass(frozen=True)
class Created:
    id: int
    name: str
    role: str
    token: str  # the only time the token exists in clear


def create(session: Session, role: str, name: str = "") -> Created:
    role = normalise_role(role)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name or "", role=role, token_hash=hash_token(token))
    session.add(row)
    session.flush()
    return Created(row.id, row.name, row.role, token)


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for a presented token, or None (unknown or revoked)."""
    if not token:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def listing(session: Session) -> list[dict]:
    return [
        {
            "id": t.id,
            "name": t.name,
            "role": t.role,
            "created_at": iso(t.created_at),
            "revoked_at": iso(t.revoked_at),
        }
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id))
    ]


def revoke(session: Session, token_id: int) -> datetime:
    row = session.scalar(select(ApiToken).where(ApiToken.id == token_id).with_for_update())
    if row is None:
        raise NotFound(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now()
    return row.revoked_at
