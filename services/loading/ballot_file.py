"""A ballots file (`{"election", "period", "ballots": [...]}`) read as a stream: loading holds the
records' distinct contents and a reference per ballot, never the parsed file (`json.loads` of it
took ten times the file's size).

The records are read exactly as `tally count` reads a document (the `json` module: integers of any
size, NaN and 1e400 read as numbers, lone surrogates kept), so that a record the engine counts as
invalid (`value-out-of-range`, ...) is loaded, kept verbatim and counted invalid alike, never a
reason to refuse the file. The election and period are read by a first pass, which stops as soon as
it has both (they may come after the ballots: the format does not order an object's keys).

Most records are read as `tally count` reads them (counting.stream): the ballots array is cut into
record texts, and the loader works once per distinct text, each parsed once. Wherever the cut
reading cannot settle the rest (a record holding `},` in a string, JSON that is not valid), the file
is read from the start member by member (cvr.json_members, the same `json` scanner, one record in
memory at a time) and the loader takes its records from the first one not read yet. A second
`ballots` member is refused: `json.loads` would keep the last, which a stream cannot know is last.
Texts that differ only in their area are not parsed again (`_Splicer`)."""

from __future__ import annotations

import hashlib
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from counting.stream import NotStreamable, RecordCuts, json_loads
from cvr.errors import CvrError
from cvr.json_members import members

from services.loading.ballots import Spliced, Template

from services.loading.fields import LoadError

SHAPE = "ballots: must be an object with election, period and a ballots list"
BLOCK = 1 << 20
# The most of the file after the last cut the cut reading holds; past it, the file is read member by member.
TAIL_LIMIT = 16 << 20
CHUNK = 10_000  # records handed over at a time when read member by member
_BALLOTS = {"ballots": "ballot"}


@dataclass(frozen=True)
class BallotFile:
    path: Path
    election: str
    period: str
    sha256: str  # of the file's bytes, read in blocks

    def records(self) -> Iterator[Any]:
        """Each record, in file order, parsed one at a time (the `json` module's scanner)."""
        lists = 0
        for name, number, value in _members(self.path):
            if name == "ballots" and number == 0:
                lists += 1
                if lists > 1:
                    raise LoadError("ballots: the file has two `ballots` members; give one")
            elif name == "ballots" and number is not None:
                yield value

    def texts(self) -> "RecordTexts":
        """The same records as their texts (services.loading.ballots.RecordTexts), cut as the module says."""
        return RecordTexts(self)


@dataclass
class RecordTexts:
    file: BallotFile
    readings: dict[bytes, Any] = field(default_factory=dict)

    def chunks(self) -> Iterator[tuple[list[bytes] | None, list | None]]:
        """(texts, their readings) for each block of record texts, then (None, records) for the rest."""
        done = 0  # records in the texts handed over
        with _open(self.file.path) as handle:
            blocks = iter(lambda: handle.read(BLOCK), b"")
            cuts = RecordCuts(blocks, json_loads, _Splicer().parse, max_rest=TAIL_LIMIT)
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
    with _open(path) as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    found: dict[str, Any] = {}
    has_list = False
    for name, number, value in _members(path):
        if name in ("election", "period") and number is None:
            if not isinstance(value, (dict, list)):
                found[name] = value
        elif name == "ballots" and number == 0:
            has_list = True
        if has_list and len(found) == 2:
            break
    if not has_list or len(found) < 2:
        raise LoadError(SHAPE)
    return BallotFile(path, str(found["election"]), str(found["period"]), digest.hexdigest())


def _members(path: Path) -> Iterator[tuple[str, int | None, Any]]:
    """The file's members as cvr.json_members reads them, each array of ballots announced by a
    (ballots, 0, None) before its records; its errors as the loader's."""
    with _open(path) as handle:
        try:
            yield from members(handle, str(path), _BALLOTS, announce=True)
        except CvrError as exc:
            if exc.message.startswith("invalid JSON: expected '{'") and not exc.where:
                raise LoadError(SHAPE) from None
            where = f"{exc.where}: " if exc.where else ""
            raise LoadError(f"ballots: not valid JSON ({where}{exc.message.removeprefix('invalid JSON: ')})") from None


_AREA = re.compile(rb'"area"[ \t\n\r]*:[ \t\n\r]*"([^"\\\x00-\x1f]*)"')
_SENTINEL = b"area spliced here: 5f0c9e1d"  # a template's area is not this (checked)
TEMPLATES = 100_000  # texts read as templates, at most (each kept with its record: under 1 kB for a ballot)


class _Splicer:
    """Record texts that differ only in their area's, read once: a text whose area is a plain string
    (no escape) and whose bytes around it are those of a text read before is that text's record with
    this area (`Spliced`): no parse, and the loader reuses the record's content.

    Sound because a lexer reads the same bytes the same way: the bytes before the area's string leave
    it inside that string, a plain string ends at its first quote, and the bytes after it read as
    they did. That the string is the record's area, and its last one, is checked once per template: its
    text read again with the area replaced by a sentinel must give the record with that area, nothing
    else changed."""

    def __init__(self):
        self.templates: dict[tuple[bytes, bytes], Template | None] = {}  # None: not a template

    def parse(self, text: bytes) -> tuple[list | Spliced, int]:
        match = _AREA.search(text)
        if match is None:
            records = json_loads(b"[" + text + b"}]")
            return records, len(records)
        around = (text[: match.start(1)], text[match.end(1) :])
        template = self.templates.get(around, False)
        if template:
            return Spliced(template, match[1].decode("utf-8")), 1
        records = json_loads(b"[" + text + b"}]")
        if template is False and len(records) == 1 and len(self.templates) < TEMPLATES:
            self.templates[around] = self._template(around, records[0], match[1])
        return records, len(records)

    def _template(self, around: tuple[bytes, bytes], record: Any, area: bytes) -> Template | None:
        # The area read must change to the sentinel, so the two must differ.
        if type(record) is not dict or record.get("area") != area.decode("utf-8") or area == _SENTINEL:
            return None
        try:
            probe = json_loads(b"[" + around[0] + _SENTINEL + around[1] + b"}]")
        except ValueError:
            return None
        return Template(record) if probe == [{**record, "area": _SENTINEL.decode()}] else None


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
