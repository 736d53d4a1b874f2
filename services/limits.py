"""What the tables can hold, in one place: the length of a key and of a name (their VARCHAR columns),
the integer ranges of the columns, and the text PostgreSQL can store. The loaders refuse what does
not fit, naming the field; a lookup treats it as matching nothing, never as a database error."""

from __future__ import annotations

KEY_LIMIT = 200  # every key and period name: elections, contests, candidates, areas, periods (VARCHAR(200))
NAME_LIMIT = 500  # every name (VARCHAR(500))
GENDER_LIMIT = 50
INT32_MAX = 2**31 - 1  # ids, weights, seats and vote limits (INTEGER)
INT64_MAX = 2**63 - 1  # census and counts (BIGINT)


def unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot store this text, or None: a NUL character, or a lone surrogate (no UTF-8 form)."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate)"
    return None
