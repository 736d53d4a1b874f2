"""Reading the fields of a JSON document to load: each one checked against what its column can hold,
and a refusal that names the field (LoadError)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.errors import ServiceError
from services.limits import KEY_LIMIT


class LoadError(ServiceError):
    """A definition or ballot file that cannot be loaded; names the field or record."""


def read_field(obj: Mapping, key: str, kind, where: str, required: bool = True, default=None, limit: int | None = None):
    """obj[key] checked for its type and, given a `limit`, its length (text) or range (integers)."""
    if key not in obj or obj[key] is None:
        if required:
            raise LoadError(f"{where}.{key}: is required")
        return default
    value = obj[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise LoadError(f"{where}.{key}: must be an integer, got {value!r}")
    if kind is not int and not isinstance(value, kind):
        raise LoadError(f"{where}.{key}: must be of type {getattr(kind, '__name__', kind)}, got {value!r}")
    if limit is not None:
        check_within(value, limit, f"{where}.{key}")
    return value


def check_within(value: int | str, limit: int, where: str) -> None:
    """An integer within +-limit, or a text of at most `limit` characters."""
    if isinstance(value, int):
        if abs(value) > limit:
            raise LoadError(f"{where}: {value} is out of range (at most {limit})")
    elif len(value) > limit:
        raise LoadError(f"{where}: longer than {limit} characters")


def read_key(obj: Mapping, where: str) -> str:
    """An id: a string or an integer, at most KEY_LIMIT characters as text."""
    key = str(read_field(obj, "id", (str, int), where))
    if len(key) > KEY_LIMIT:
        raise LoadError(f"{where}.id: longer than {KEY_LIMIT} characters")
    return key


def read_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"{what}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise LoadError(f"{what}: JSON nested too deeply to read") from None
