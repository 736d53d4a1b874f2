"""A ballots file (`{"election", "period", "ballots": [...]}`) read as a stream: its records come
one at a time from ijson's C parser, so loading holds the records' distinct contents and a
reference per ballot, never the parsed file (`json.loads` of it took ten times the file's size).

The election and period are read by a first pass, which stops as soon as it has both (they may
come after the ballots: the format does not order an object's keys). A JSON error anywhere,
found while the loader reads, refuses the file like any other bad input: nothing is stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import ijson

from .loading import LoadError

SHAPE = "ballots: must be an object with election, period and a ballots list"
# As deep as Python's json module reads a document. ijson keeps a prefix per open level, each as long as the
# path to it, so its memory grows with the square of the depth: 100,000 levels (200 kB) took 10 GB.
FILE_NESTING_LIMIT = 1000
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class BallotFile:
    path: Path
    election: str
    period: str
    sha256: str  # of the file's bytes, read in blocks

    def records(self) -> Iterator[Any]:
        with _open(self.path) as handle:
            try:
                yield from ijson.items(handle, "ballots.item", use_float=True)
            except ijson.JSONError as exc:
                raise LoadError(f"ballots: not valid JSON ({exc})") from None


def open_ballot_file(path: str | Path) -> BallotFile:
    path = Path(path)
    digest = hashlib.sha256()
    depth: int | None = 0  # None once the fast scan cannot vouch for the depth
    with _open(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            if depth is not None:
                depth = _bracket_depth(block, depth)
    if depth is None:  # before any ijson pass: it parses a read buffer ahead of the events it yields
        _check_depth(path)
    found: dict[str, Any] = {}
    has_list = False
    with _open(path) as handle:
        try:
            for prefix, event, value in ijson.parse(handle, use_float=True):
                if prefix in ("election", "period") and event in ("string", "number", "boolean", "null"):
                    found[prefix] = value
                elif prefix == "ballots" and event == "start_array":
                    has_list = True
                elif prefix == "" and event not in ("start_map", "map_key", "end_map"):
                    raise LoadError(SHAPE)
                if has_list and len(found) == 2:
                    break
        except ijson.JSONError as exc:
            raise LoadError(f"ballots: not valid JSON ({exc})") from None
    if not has_list or len(found) < 2:
        raise LoadError(SHAPE)
    return BallotFile(path, str(found["election"]), str(found["period"]), digest.hexdigest())


def _bracket_depth(block: bytes, depth: int) -> int | None:
    """The nesting depth after `block`, or None if it may go past FILE_NESTING_LIMIT inside it.

    Brackets alone, with every innermost pair removed per pass (C speed): the passes needed bound the
    nesting within the block. Brackets inside strings count too, so None means "ask the parser"."""
    brackets = block.translate(_BRACKETS, _NOT_BRACKETS)
    passes = 0
    while b"()" in brackets:
        brackets = brackets.replace(b"()", b"")
        passes += 1
        if passes > FILE_NESTING_LIMIT:
            return None
    closers = brackets.count(b")")  # what is left reads ")))(((": closers of outer levels, then openers
    openers = len(brackets) - closers
    if depth + openers + passes > FILE_NESTING_LIMIT:
        return None
    return depth - closers + openers


def _check_depth(path: Path) -> None:
    """The parser's own events, without ijson's prefixes: refuse a file nested past the limit."""
    depth = 0
    with _open(path) as handle:
        try:
            for event, _ in ijson.basic_parse(handle, use_float=True):
                if event in ("start_map", "start_array"):
                    depth += 1
                    if depth > FILE_NESTING_LIMIT:
                        raise LoadError(f"ballots: JSON nested more than {FILE_NESTING_LIMIT} levels deep")
                elif event in ("end_map", "end_array"):
                    depth -= 1
        except ijson.JSONError as exc:
            raise LoadError(f"ballots: not valid JSON ({exc})") from None


def _open(path: Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise LoadError(f"ballots: cannot read {path}: {exc.strerror}") from None
