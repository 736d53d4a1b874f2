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
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Iterable, Iterator

from .ballots import Ballot, parse_ballot

CUT = b"},"
# `"ballots"` then `:` then `[`, with JSON's whitespace only (a bytes `\s` also takes \v and \f).
_BALLOTS_KEY = re.compile(rb'"ballots"[ \t\n\r]*:[ \t\n\r]*\[')
_JSON_SPACE = b" \t\n\r"
_MAX_HEADER = 64 << 20  # bytes before `"ballots"` after which this reading gives up


class NotStreamable(Exception):
    """This document must be read whole (`json.loads`) to be read exactly as the format says."""


class DocumentStream:
    """One interchange document, read from byte blocks: `ballots()` yields (ballot, records) pairs, the
    ballot of each distinct record text with the number of records carrying that text; then `members`
    holds the document's other fields (`contest`, `census`), as (key, value) pairs in document order."""

    def __init__(self, blocks: Iterable[bytes]):
        self._blocks = iter(blocks)
        self.members: list[tuple[str, Any]] = []
        self._read: dict[bytes, tuple[Ballot, ...]] = {}  # each distinct record text -> its ballots

    def ballots(self) -> Iterator[tuple[Ballot, int]]:
        rest = self._header()
        counts: Counter = Counter()  # record text -> records, in the order first seen
        cut_before = False  # whether a `},` cut precedes `rest` (then the array has a record there)
        for block in self._blocks:
            rest += block
            end = rest.rfind(CUT)
            if end < 0:
                continue
            texts = rest[:end].split(CUT)
            rest = rest[end + len(CUT) :]
            unread = {text for text in set(texts).difference(self._read) if not self._parse(text)}
            if unread:  # the array ends here, or a record holds `},`: from the first such text on is the tail
                first = next(i for i, text in enumerate(texts) if text in unread)
                counts.update(texts[:first])
                rest = CUT.join(texts[first:]) + CUT + rest + b"".join(self._blocks)
                cut_before = cut_before or first > 0
                break
            counts.update(texts)
            cut_before = True
        tail = self._tail(rest, cut_before)
        for text, n in counts.items():
            for ballot in self._read[text]:
                yield ballot, n
        for ballot in tail:
            yield ballot, 1

    def _header(self) -> bytes:
        """Read up to the `[` of the top-level `ballots`; keep the members before it; return what follows."""
        data = b""
        tried: set[int] = set()  # where a `"ballots"` found before is not the document's own
        for block in self._blocks:
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
                members = _outer_members(before + b"}")
                if members is not None:
                    self._keep(members)
                    return data[match.end() :]
            if len(data) > _MAX_HEADER:
                break
        raise NotStreamable("no top-level `ballots` array")

    def _parse(self, text: bytes) -> bool:
        """Read one record text (or several records cut as one); False if it does not parse on its own."""
        try:
            records = json.loads("[" + text.decode("utf-8", "surrogatepass") + "}]")
        except (ValueError, RecursionError):
            return False
        self._read[text] = tuple(parse_ballot(record) for record in records)
        return True

    def _tail(self, text: bytes, cut_before: bool) -> list[Ballot]:
        """The array's last records, its `]`, and the rest of the document's object."""
        members = _outer_members(b'{"":[' + text)
        if members is None:
            raise NotStreamable("the document is not JSON this reading can settle")
        (_, records), *after = members
        if cut_before and not records:
            raise NotStreamable("a comma before the array's end")
        self._keep(after)
        return [parse_ballot(record) for record in records]

    def _keep(self, members: list[tuple[str, Any]]) -> None:
        if any(key == "ballots" for key, _ in members):
            raise NotStreamable("a second `ballots` member")
        self.members += members


def _outer_members(text: bytes) -> list[tuple[str, Any]] | None:
    """The (key, value) pairs of the object `text` is, duplicates kept; None if it is not one."""
    outer: list[tuple[str, Any]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict:
        outer[:] = items  # objects close from the inside out: the last one is the outermost
        return dict(items)  # what `json.loads` makes of an object, the last of equal keys winning

    try:
        json.loads(text.decode("utf-8", "surrogatepass"), object_pairs_hook=pairs)
    except (ValueError, RecursionError):
        return None
    return outer if text.lstrip(_JSON_SPACE).startswith(b"{") else None
