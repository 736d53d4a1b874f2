"""A method's options as a dataclass: each field names the contest option it reads and how to read it.

A method declares its options once, as a frozen dataclass deriving from `Options` whose fields are
made with `option(default, reader)`. `Options.parse(contest)` reads every declared option (absent,
or null where null means the default, gives the default), checks it with its reader, and raises
`DefinitionError` naming `contest.options.<name>`; the class's `check` then refuses combinations.
So the method's own check is `XOptions.parse(contest)`, and its count reads typed values.

Readers take (where, value, contest) and return the value to keep; they are the few shapes
options have (`choice`, `flag`, `integer`, `candidate_list`), each with one message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Self

from .contest import Contest
from .errors import DefinitionError

Reader = Callable[[str, Any, Contest], Any]


@dataclass(frozen=True)
class _Declared:
    read: Reader
    name: str | None  # the option's name when it is not the field's
    nullable: bool  # null means the default (else null is read, and usually refused)


def option(default: Any, read: Reader, *, name: str | None = None, nullable: bool = True) -> Any:
    """A dataclass field read from `contest.options[name or field name]`."""
    return field(default=default, metadata={"option": _Declared(read, name, nullable)})


@dataclass(frozen=True)
class Options:
    """The base of every method's options dataclass; as it is, the options of a method that has none."""

    @classmethod
    def parse(cls, contest: Contest) -> Self:
        """Read and check the contest's options; refuse what cannot be counted, naming the option."""
        given = contest.options
        values = {}
        for f, declared in _declared(cls):
            name = declared.name or f.name
            if name in given and not (given[name] is None and declared.nullable):
                values[f.name] = declared.read(f"contest.options.{name}", given[name], contest)
        parsed = cls(**values).complete(contest)
        parsed.check(contest)
        return parsed

    def complete(self, contest: Contest) -> Self:
        """The options with what is derived from the contest filled in (a subclass's hook)."""
        return self

    def check(self, contest: Contest) -> None:
        """Refuse combinations of options that cannot be counted (a subclass's hook)."""

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Option name -> its default, as a definition would write it (plain strings, not members)."""
        return {declared.name or f.name: _plain(f.default) for f, declared in _declared(cls)}


def _declared(cls: type) -> Iterable[tuple[Any, _Declared]]:
    return ((f, f.metadata["option"]) for f in fields(cls) if "option" in f.metadata)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def refuse_options_of(contest: Contest, other: type[Options], own: type[Options], why: str) -> None:
    """Refuse each option that method `other` declares and `own` does not, set to anything but its
    default (absent is fine): `why` says what the method counts instead, the message how to fix it."""
    mine = own.defaults()
    for name, default in other.defaults().items():
        if name not in mine and contest.options.get(name, default) != default:
            raise DefinitionError(f"contest.options.{name}", f"{why} and has no {name} (remove it or set it to {default!r})")


# ---------------------------------------------------------------------------------------------
# Readers


def choice(allowed: type[Enum] | tuple[str, ...]) -> Reader:
    """One of `allowed` (an enum's values): returned as the member."""
    values = tuple(allowed)

    def read(where: str, value: Any, contest: Contest) -> Any:
        for member in values:
            if value == member and isinstance(value, str):
                return member
        raise DefinitionError(where, f"must be one of {', '.join(values)}, got {value!r}")

    return read


def flag(where: str, value: Any, contest: Contest) -> bool:
    if not isinstance(value, bool):
        raise DefinitionError(where, f"must be true or false, got {value!r}")
    return value


def integer(low: int, high: int | None = None, *, null: str = "") -> Reader:
    """An integer from `low` (to `high`); `null` names what null means, when it means something."""
    bounds = f"from {low} to {high}" if high is not None else f">= {low}"
    if null:
        bounds += f" or null ({null})"

    def read(where: str, value: Any, contest: Contest) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            raise DefinitionError(where, f"must be an integer {bounds}, got {value!r}")
        return value

    return read


def positive_integer(where: str, value: Any, contest: Contest) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DefinitionError(where, f"must be a positive integer, got {value!r}")
    return value


def candidate_list(*, unique: bool = False) -> Reader:
    """A list of candidate ids, each a candidate of the contest (listed once, when `unique`)."""

    def read(where: str, value: Any, contest: Contest) -> tuple[str, ...]:
        if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
            raise DefinitionError(where, "must be a list of candidate ids")
        known = set(contest.candidate_ids)
        unknown = [c for c in value if c not in known]
        if unknown:
            raise DefinitionError(where, f"unknown candidate(s): {', '.join(unknown)}")
        if unique and len(set(value)) != len(value):
            raise DefinitionError(where, "a candidate is listed twice")
        return tuple(value)

    return read


def as_given(where: str, value: Any, contest: Contest) -> Any:
    """An option read as it is (its users are tolerant of any value)."""
    return value

