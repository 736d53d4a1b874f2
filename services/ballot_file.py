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
    digest = hashlib.sha256()
    with _open(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return BallotFile(path, str(found["election"]), str(found["period"]), digest.hexdigest())


def _open(path: Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise LoadError(f"ballots: cannot read {path}: {exc.strerror}") from None
