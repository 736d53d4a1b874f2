"""Bearer-token authentication for the admin API: tokens come from `tally token create` and are
looked up by their SHA-256 hash. No token, an unknown or revoked one: 401. Not ADMIN: 403."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import HTTPBearer

from models.db import session_scope
from services import tokens

bearer = HTTPBearer(auto_error=False, description="An API token from `tally token create --role ADMIN`")


class AuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="tally"'} if self.status == 401 else {}


@dataclass(frozen=True)
class Principal:
    token_id: int
    role: str

    @property
    def actor(self) -> str:
        """How the caller is named in runs and audit events: the token id, never the token."""
        return f"api-token:{self.token_id}"


def _presented(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def admin_from_header(header: str | None) -> Principal:
    token = _presented(header)
    if token is None:
        raise AuthError(401, "Authentication required: send Authorization: Bearer <token>")
    with session_scope() as session:
        row = tokens.authenticate(session, token)
        principal = None if row is None else Principal(row.id, row.role)
    if principal is None:
        raise AuthError(401, "Invalid or revoked token")
    if principal.role != tokens.ADMIN:
        raise AuthError(403, "Forbidden: the ADMIN role is required")
    return principal


def require_admin(request: Request, _scheme=Security(bearer)) -> Principal:
    """FastAPI dependency (the Security parameter documents the scheme in OpenAPI). api.guard has
    already authenticated the request before reading its body; its principal is reused."""
    principal = getattr(request.state, "principal", None)
    return principal if principal is not None else admin_from_header(request.headers.get("authorization"))
