"""Reading an interchange document from its bytes as they arrive, grouping identical records on the way.

A million-ballot document holds a few tens of thousands of distinct records. Parsing each record into
Python objects costs far more than the count itself, and holding them all costs ten times the file, so
the ballots array is cut into record texts at the bytes `},` (the end of one record object and the
comma before the next), identical texts are counted with a `Counter` (bytes hashed in C), and only
each distinct text is parsed, by the `json` module, exactly as `json.loads` of the whole document would.

A cut can land inside a string or a nested object, so nothing is trusted that the parser has not
confirmed: every distinct text must parse on its own as a list of complete values (`[text}]`), and
the part before the array must parse as the start of the document's object. JSON is read by a
deterministic lexer, so a text that parses alone from an element's start ends at an element's end:
by induction, every cut is between two records of the top-level `ballots` array. The first text that
does not parse (the array's end, or a record holding `},`) begins the tail: the rest of the document,
parsed whole. Anything this reading cannot settle exactly as `json.loads` would (another encoding, a
second `ballots` key, a document that is not JSON) raises `NotStreamable`, and the caller reads the
document whole; so the result, and every error message, is the same either way.

The cutting is `RecordCuts`, which the loader shares (services.loading.ballot_file): it reads with its own
`loads`, one that refuses whatever its streaming parser would read otherwise, and holds no more than a
bounded tail, so that a document it cannot settle is read by that parser from the first unsettled record.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, Iterable, Iterator

from .ballots import Ballot, parse_ballot

CUT = b"},"
# `"ballots"` then `:` then `[`, with JSON's whitespace only (a bytes `\s` also takes \v and \f).
_BALLOTS_KEY = re.compile(rb'"ballots"[ \t\n\r]*:[ \t\n\r]*\[')
_JSON_SPACE = b" \t\n\r"
_MAX_HEADER = 64 << 20  # bytes before `"ballots"` after which this reading gives up


class NotStreamable(Exception):
    """This document must be read whole (`json.loads`) to be read exactly as the format says."""


def json_loads(text: bytes, **hooks: Any) -> Any:
    """`json.loads` of a UTF-8 text, as `tally count` reads a document whole."""
    return json.loads(text.decode("utf-8", "surrogatepass"), **hooks)


class RecordCuts:
    """The top-level `ballots` array of a document, cut into record texts as its blocks arrive.

    Iterating yields (texts, readings) a block at a time: record texts in document order, each confirmed by
    `parse` (by default `values`: `loads` of `[text}]`; either raises ValueError or RecursionError for a
    text that does not parse alone), and beside each its reading: `read[text]`, what `parse` gave beside
    the number of records the text holds. A caller may replace a reading with its own, or clear `read` to bound memory (a text not
    in it is parsed again). Iteration stops at the first text that does not parse, or once `max_rest` bytes
    hold no cut; `rest` is then the bytes from there on, the unread blocks follow in `blocks`, and `tail`
    reads the rest. `members`: the document's other members, in order."""

    def __init__(self, blocks: Iterable[bytes], loads: Callable[..., Any] = json_loads,
                 parse: Callable[[bytes], tuple[Any, int]] | None = None, max_rest: int | None = None):
        self.blocks = iter(blocks)
        self.loads, self.max_rest = loads, max_rest
        self.parse = parse or (lambda text: (records := self.values(text), len(records)))
        self.read: dict[bytes, Any] = {}
        self.several: dict[bytes, int] = {}  # the texts that hold more than one record: how many
        self.members: list[tuple[str, Any]] = []
        self.rest = b""
        self.cut_before = False  # whether a `},` cut precedes `rest` (then the array has a record there)

    def __iter__(self) -> Iterator[tuple[list[bytes], list]]:
        rest = self._header()
        for block in itertools.chain((b"",), self.blocks):  # first, what the header's blocks hold after it
            rest += block
            end = rest.rfind(CUT)
            if end < 0:
                if self.max_rest is not None and len(rest) > self.max_rest:
                    break
                continue
            texts = rest[:end].split(CUT)
            rest = rest[end + len(CUT) :]
            readings = list(map(self.read.get, texts))  # one lookup per record, in C
            first = self._confirm(texts, readings)
            if first is not None:  # the array ends here, or a record holds `},`: from this text on is the tail
                self.rest = CUT.join(texts[first:]) + CUT + rest
                self.cut_before = self.cut_before or first > 0
                if first:
                    yield texts[:first], readings[:first]
                return
            self.cut_before = True
            yield texts, readings
        self.rest = rest

    def _confirm(self, texts: list[bytes], readings: list) -> int | None:
        """Parse, in order, the texts not read before, filling in their readings; the index of the first
        text that does not parse, if one does not."""
        fresh: dict[bytes, Any] = {}  # the texts parsed for this block (a small dictionary, quick to look up)
        for i in itertools.compress(range(len(texts)), map(operator.is_, readings, itertools.repeat(None))):
            reading = fresh.get(texts[i])
            if reading is None:
                if not self._parse(texts[i]):
                    return i
                reading = fresh[texts[i]] = self.read[texts[i]]
            readings[i] = reading
        return None

    def _header(self) -> bytes:
        """Read up to the `[` of the top-level `ballots`; keep the members before it; return what follows."""
        data = b""
        tried: set[int] = set()  # where a `"ballots"` found before is not the document's own
        for block in self.blocks:
            if len(data) < 4 <= len(data) + len(block) and json.detect_encoding((data + block)[:4]) != "utf-8":
                raise NotStreamable("not UTF-8 without a byte order mark")  # as `json.loads` tells them
            data += block
            for match in _BALLOTS_KEY.finditer(data):
                if match.start() in tried:
                    continue
                tried.add(match.start())
                before = data[: match.start()].rstrip(_JSON_SPACE)
                if before.endswith(b","):
                    before = before[:-1]
                elif not before.endswith(b"{"):
                    continue
                members = self._outer_members(before + b"}")
                if members is not None:
                    self._keep(members)
                    return data[match.end() :]
            if len(data) > _MAX_HEADER:
                break
        raise NotStreamable("no top-level `ballots` array")

    def values(self, text: bytes) -> list:
        """The values one record text holds (several records may be cut as one)."""
        return self.loads(b"[" + text + b"}]")

    def _parse(self, text: bytes) -> bool:
        """Read one record text; False if it does not parse on its own."""
        try:
            self.read[text], records = self.parse(text)
        except (ValueError, RecursionError):
            return False
        if records > 1:
            self.several[text] = records
        return True

    def tail(self, text: bytes) -> list:
        """The values of the array's last records, from `text`: they, its `]`, and the rest of the document's object."""
        members = self._outer_members(b'{"":[' + text)
        if members is None:
            raise NotStreamable("the document is not JSON this reading can settle")
        (_, records), *after = members
        if self.cut_before and not records:
            raise NotStreamable("a comma before the array's end")
        self._keep(after)
        return records

    def _keep(self, members: list[tuple[str, Any]]) -> None:
        if any(key == "ballots" for key, _ in members):
            raise NotStreamable("a second `ballots` member")
        self.members += members

    def _outer_members(self, text: bytes) -> list[tuple[str, Any]] | None:
        """The (key, value) pairs of the object `text` is, duplicates kept; None if it is not one."""
        outer: list[tuple[str, Any]] = []

        def pairs(items: list[tuple[str, Any]]) -> dict:
            outer[:] = items  # objects close from the inside out: the last one is the outermost
            return dict(items)  # what `json.loads` makes of an object, the last of equal keys winning

        try:
            self.loads(text, object_pairs_hook=pairs)
        except (ValueError, RecursionError):
            return None
        return outer if text.lstrip(_JSON_SPACE).startswith(b"{") else None


class DocumentStream:
    """One interchange document, read from byte blocks: `ballots()` yields (ballot, records) pairs, the
    ballot of each distinct record text with the number of records carrying that text; then `members`
    holds the document's other fields (`contest`, `census`), as (key, value) pairs in document order."""

    def __init__(self, blocks: Iterable[bytes]):
        self._cuts = RecordCuts(blocks, parse=self._ballots)  # each distinct record text -> its ballots
        self.members = self._cuts.members

    def _ballots(self, text: bytes) -> tuple[tuple[Ballot, ...], int]:
        records = self._cuts.values(text)
        return tuple(parse_ballot(record) for record in records), len(records)

    def ballots(self) -> Iterator[tuple[Ballot, int]]:
        cuts = self._cuts
        counts: Counter = Counter()  # record text -> records, in the order first seen
        for texts, _ in cuts:
            counts.update(texts)
        tail = cuts.tail(cuts.rest + b"".join(cuts.blocks))
        for text, n in counts.items():
            for ballot in cuts.read[text]:
                yield ballot, n
        for record in tail:
            yield parse_ballot(record), 1
