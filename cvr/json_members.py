"""A JSON export read member by member, its long arrays item by item, in bounded memory.

CVR exports in JSON (NIST CDF, Dominion's CvrExport) are one object whose few members hold the
records in an array. The file is decoded in blocks and each value is parsed by the standard
library's C scanner (`json.JSONDecoder.raw_decode`, which says where a value ends), so one record
is in memory at a time: 1M CDF records parse in about 7 s here, against 10 s for ijson's yajl
backend building the same items. A record that does not end within `TALLY_CVR_RECORD_BYTES` is
refused; so is nesting deeper than the parser's recursion limit (it counts levels as it descends,
so a file of a million `[` costs nothing). Errors name the member and the item.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, BinaryIO, Iterator

from .errors import CvrError
from .files import limits

BLOCK = 8 << 20
_SPACE = re.compile(r"[ \t\n\r]*")
_BLANK = frozenset(("", " ", "\t", "\n", "\r"))
_DECODER = json.JSONDecoder()


class _Text:
    """The file's text from `pos` on, read a block at a time."""

    def __init__(self, handle: BinaryIO, path: str):
        self.handle, self.path = handle, path
        # surrogatepass: as `json.loads` reads bytes (and `tally count` a document), UTF-8 of a lone surrogate is kept
        self.decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        self.buf, self.pos, self.eof = "", 0, False
        self.limit = limits().record_bytes
        self._fill()
        if self.buf.startswith("\ufeff"):
            self.pos = 1

    def _fill(self) -> bool:
        if self.eof:
            return False
        block = self.handle.read(BLOCK)
        try:
            text = self.decoder.decode(block, final=not block)
        except UnicodeDecodeError as exc:
            raise CvrError(self.path, "", "", f"is not UTF-8 ({exc.reason})") from None
        self.eof = not block
        self.buf, self.pos = self.buf[self.pos :] + text, 0
        return True

    def peek(self) -> str:
        """The next character that is not white space, or "" at the end of the file."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self._fill():
                return self.buf[self.pos : self.pos + 1]

    def take(self, allowed: str, where: str) -> str:
        char = self.peek()
        if not char or char not in allowed:
            found = repr(char) if char else "the end of the file"
            raise CvrError(self.path, where, "", f"invalid JSON: expected {' or '.join(map(repr, allowed))}, found {found}")
        self.pos += 1
        return char

    def value(self, where: str) -> Any:
        if self.buf[self.pos : self.pos + 1] in _BLANK:
            self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > self.limit:
                    raise CvrError(self.path, where, "", f"invalid JSON, or larger than {self.limit:,} bytes "
                                   f"(TALLY_CVR_RECORD_BYTES): {exc.msg}") from None
                if self._fill():
                    continue  # the value may go on in the next block
                raise CvrError(self.path, where, "", f"invalid JSON: {exc.msg}") from None
            except RecursionError:
                raise CvrError(self.path, where, "", "invalid JSON: nested too deeply to read") from None
            except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
                raise CvrError(self.path, where, "", f"invalid JSON: {exc}") from None
            if end == len(self.buf) and self._fill():
                continue  # a number at the block's end may go on in the next
            if end - self.pos > self.limit:
                raise CvrError(self.path, where, "", f"is larger than {self.limit:,} bytes (TALLY_CVR_RECORD_BYTES)")
            self.pos = end
            return value


def members(handle: BinaryIO, path: str, streamed: dict[str, str], announce: bool = False,
            ) -> Iterator[tuple[str, int | None, Any]]:
    """(name, None, value) for each member of the file's top-level object, in file order, except
    that a member named in `streamed` whose value is an array gives (name, n, item) for each item.
    `streamed` maps such a member to what its items are called in errors ("session" makes "session 12").
    With `announce`, such an array is announced by (name, 0, None) before its first item."""
    text = _Text(handle, path)
    text.take("{", "")
    if text.peek() == "}":
        text.pos += 1
    else:
        while True:
            name = text.value("a member name")
            if not isinstance(name, str):
                raise CvrError(path, "", "", "invalid JSON: a member name must be a string")
            text.take(":", name)
            if name in streamed and text.peek() == "[":
                if announce:
                    yield name, 0, None
                yield from _items(text, name, streamed[name])
            else:
                yield name, None, text.value(name)
            if text.take(",}", name) == "}":
                break
    if text.peek():
        raise CvrError(path, "", "", "invalid JSON: more data after the top-level object")


def _items(text: _Text, name: str, label: str) -> Iterator[tuple[str, int, Any]]:
    text.take("[", name)
    if text.peek() == "]":
        text.pos += 1
        return
    number = 0
    while True:
        number += 1
        yield name, number, text.value(f"{label} {number}")
        if text.buf.startswith(",", text.pos):  # the usual case, without a call
            text.pos += 1
        elif text.take(",]", f"{label} {number}") == "]":
            return


def load_whole(data: bytes, path: str) -> Any:
    """A small JSON file (a manifest) already read within its limit."""
    try:
        return json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CvrError(path, "", "", f"invalid JSON: {exc}") from None
    except RecursionError:
        raise CvrError(path, "", "", "invalid JSON: nested too deeply to read") from None
