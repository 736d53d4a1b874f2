"""A ballots file (`{"election", "period", "ballots": [...]}`) read as a stream: loading holds the
records' distinct contents and a reference per ballot, never the parsed file (`json.loads` of it
took ten times the file's size).

The election and period are read by a first pass, which stops as soon as it has both (they may
come after the ballots: the format does not order an object's keys). A JSON error anywhere,
found while the loader reads, refuses the file like any other bad input: nothing is stored.

The records are read as `tally count` reads a document (counting.stream): the ballots array is cut
into record texts, and the loader works once per distinct text, each parsed once by the `json`
module. What the loader stores must be what ijson's parser (`records()`, the reading the loader has
always had) reads, so `json` reads a text only where the two agree: not NaN or Infinity, no float
past the double range, no integer past 64 bits, no surrogate escape, valid UTF-8. Wherever the cut
reading cannot settle the rest (a record holding `},` in a string, a number or escape it leaves to
ijson, JSON that is not valid, a second `ballots` key), ijson reads the file from the start and the
loader takes its records from the first one not read yet: the records, and every error, are ijson's.
Texts that differ only in their area are not parsed again (`_Splicer`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import ijson

from counting.stream import NotStreamable, RecordCuts

from services.loading.ballots import Spliced, Template

from services.loading.fields import LoadError

SHAPE = "ballots: must be an object with election, period and a ballots list"
# As deep as Python's json module reads a document. ijson keeps a prefix per open level, each as long as the
# path to it, so its memory grows with the square of the depth: 100,000 levels (200 kB) took 10 GB.
FILE_NESTING_LIMIT = 1000
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
BLOCK = 1 << 20
# The most of the file after the last cut the cut reading holds; past it, ijson reads the rest.
TAIL_LIMIT = 16 << 20
CHUNK = 10_000  # records handed over at a time when ijson reads them


@dataclass(frozen=True)
class BallotFile:
    path: Path
    election: str
    period: str
    sha256: str  # of the file's bytes, read in blocks

    def records(self) -> Iterator[Any]:
        """Each record, in file order, parsed one at a time by ijson's C parser."""
        with _open(self.path) as handle:
            try:
                yield from ijson.items(handle, "ballots.item", use_float=True)
            except ijson.JSONError as exc:
                raise LoadError(f"ballots: not valid JSON ({exc})") from None

    def texts(self) -> "RecordTexts":
        """The same records as their texts (services.loading.ballots.RecordTexts), cut as the module says."""
        return RecordTexts(self)


@dataclass
class RecordTexts:
    file: BallotFile
    readings: dict[bytes, Any] = field(default_factory=dict)

    def chunks(self) -> Iterator[tuple[list[bytes] | None, list | None]]:
        """(texts, their readings) for each block of record texts, then (None, records) for the rest."""
        strict = _AsIjson()
        done = 0  # records in the texts handed over
        with _open(self.file.path) as handle:
            cuts = RecordCuts(strict.blocks(handle), strict.loads, _Splicer(strict).parse, max_rest=TAIL_LIMIT)
            self.readings = cuts.read
            try:
                for texts, readings in cuts:
                    several = cuts.several
                    done += len(texts) + (sum(several.get(t, 1) - 1 for t in texts) if several else 0)
                    yield texts, readings
                rest = cuts.rest + _up_to(cuts.blocks, TAIL_LIMIT - len(cuts.rest))
                records = cuts.tail(rest)
            except NotStreamable:
                records = None
        if records is not None:
            yield None, records
            return
        rest = itertools.islice(self.file.records(), done, None)
        while chunk := list(itertools.islice(rest, CHUNK)):
            yield None, chunk


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


_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))  # each digit a 0, the rest spaces
_LONG_INTEGER = b"0" * 19  # an integer of 18 digits or fewer fits in 64 bits, as yajl needs
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# A record's area key, and a plain string as its value: no escape, no quote, no control character.
_AREA = re.compile(rb'"area"[ \t\n\r]*:[ \t\n\r]*"([^"\\\x00-\x1f]*)"')
_SENTINEL = b"area spliced here: 5f0c9e1d"  # a template's area is not this (checked)
TEMPLATES = 100_000  # texts read as templates, at most (each kept with its record: under 1 kB for a ballot)


class _AsIjson:
    """`json` reading a text only where ijson (yajl) reads it the same; ValueError elsewhere.

    Checked as a text parses: NaN and Infinity (`json` reads them, yajl refuses them), a float past
    the double range (`json` reads infinity, yajl refuses it), invalid UTF-8 (strict decoding: yajl
    refuses it, and Python's decoder refuses what ijson's does). Checked on the bytes of each block as it
    is read: an integer of 19 digits or more (yajl refuses one past 64 bits) or a surrogate escape
    (yajl makes '?' of a lone high surrogate, and a pair of a high one and any escape). After such a
    block `loads` refuses every text, so ijson reads from the first record not read yet."""

    def __init__(self):
        self.suspect = False

    def blocks(self, handle) -> Iterator[bytes]:
        carry = b""  # the end of the last block: a digit run or an escape may straddle two blocks
        for block in iter(lambda: handle.read(BLOCK), b""):
            if not self.suspect:
                window = carry + block
                self.suspect = _LONG_INTEGER in window.translate(_DIGITS) or bool(_SURROGATE_ESCAPE.search(window))
                carry = window[-len(_LONG_INTEGER) :]
            yield block

    def loads(self, text: bytes, object_pairs_hook=None) -> Any:
        if self.suspect:
            raise ValueError("left to ijson")
        decoder = _DECODER if object_pairs_hook is None else json.JSONDecoder(
            parse_float=_finite, parse_constant=_not_json, object_pairs_hook=object_pairs_hook
        )
        return decoder.decode(text.decode("utf-8"))


class _Splicer:
    """Record texts that differ only in their area's, read once: a text whose area is a plain string
    (no escape) and whose bytes around it are those of a text read before is that text's record with
    this area (`Spliced`): no parse, and the loader reuses the record's content.

    Sound because a lexer reads the same bytes the same way: the bytes before the area's string leave
    it inside that string, a plain string ends at its first quote, and the bytes after it read as
    they did. That the string is the record's area, and its last one, is checked once per template: its
    text read again with the area replaced by a sentinel must give the record with that area, nothing
    else changed."""

    def __init__(self, strict: _AsIjson):
        self.strict = strict
        self.templates: dict[tuple[bytes, bytes], Template | None] = {}  # None: not a template

    def parse(self, text: bytes) -> tuple[list | Spliced, int]:
        match = _AREA.search(text)
        if match is None:
            records = self.strict.loads(b"[" + text + b"}]")
            return records, len(records)
        around = (text[: match.start(1)], text[match.end(1) :])
        template = self.templates.get(around, False)
        if template:
            return Spliced(template, match[1].decode("utf-8")), 1
        records = self.strict.loads(b"[" + text + b"}]")
        if template is False and len(records) == 1 and len(self.templates) < TEMPLATES:
            self.templates[around] = self._template(around, records[0], match[1])
        return records, len(records)

    def _template(self, around: tuple[bytes, bytes], record: Any, area: bytes) -> Template | None:
        # The area read must change to the sentinel, so the two must differ.
        if type(record) is not dict or record.get("area") != area.decode("utf-8") or area == _SENTINEL:
            return None
        try:
            probe = self.strict.loads(b"[" + around[0] + _SENTINEL + around[1] + b"}]")
        except ValueError:
            return None
        return Template(record) if probe == [{**record, "area": _SENTINEL.decode()}] else None


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is past the range of a double")
    return value


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_not_json)


def _up_to(blocks: Iterator[bytes], limit: int) -> bytes:
    """The rest of the blocks, if they hold at most `limit` bytes."""
    data = b""
    for block in blocks:
        data += block
        if len(data) > limit:
            raise NotStreamable("a tail longer than the cut reading holds")
    return data


def _open(path: Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise LoadError(f"ballots: cannot read {path}: {exc.strerror}") from None
