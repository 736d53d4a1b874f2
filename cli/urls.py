"""URLs as a message may print them."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def shown_url(url: str | None) -> str:
    """A URL as it may be printed: without its password."""
    if not url:
        return "(unset)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://", 1)[0] + "://..."
