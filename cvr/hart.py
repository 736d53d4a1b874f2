"""Hart Verity CVR archives: XML files, one ballot each, in a folder or a .zip archive, read with lxml.

The configured contest's options are the marks: an option's `Value` is a string of 0/1 digits, the
n-th digit 1 meaning rank n. Option ids (GUIDs) map to candidates through the configuration's
aliases, then by the option's name. A file without the contest is not a ballot of it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .records import Names, Record
from .source import Source


def _local(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element, name: str):
    return next((c for c in element if _local(c) == name), None)


def _text(element, name: str) -> str:
    child = None if element is None else _child(element, name)
    return "" if child is None or child.text is None else child.text.strip()


def read(source: Source, names: Names) -> Iterator[Record]:
    from lxml import etree

    for name, document in _documents(source.path):
        try:
            root = etree.fromstring(document)
        except etree.XMLSyntaxError as exc:
            raise CvrError(name, f"line {exc.lineno}", "", f"invalid XML: {exc.msg}") from None
        contests = _child(root, "Contests")
        contest = None
        for candidate in contests if contests is not None else ():
            if _text(candidate, "Id") == source.contest_id or _text(candidate, "Name") == source.contest_id:
                contest = candidate
                break
        if contest is None:
            continue
        yield Record(_ballot(contest, names), _text(_child(root, "PrecinctSplit"), "Name") or None)


def _documents(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each ballot's XML document, in name order: the files of a folder, the
    members of a .zip archive (as Hart exports them), or the one file given."""
    if path.is_dir():
        for member in sorted(p for p in path.iterdir() if p.suffix.lower() == ".xml"):
            yield str(member), member.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in sorted(n for n in archive.namelist() if n.lower().endswith(".xml")):
                yield f"{path}!{member}", archive.read(member)
    else:
        yield str(path), path.read_bytes()


def _ballot(contest, names: Names) -> Ballot:
    marks = []
    options = _child(contest, "Options")
    for option in options if options is not None else ():
        value = _text(option, "Value")
        if value.strip("01"):
            return Ballot(defect="malformed-marks")
        code, name = _text(option, "Id"), _text(option, "Name")
        candidate = names.resolve(code)
        if candidate == code and name:
            candidate = names.resolve(name)
        if candidate is None:
            continue
        marks.extend((candidate, rank) for rank, digit in enumerate(value, start=1) if digit == "1")
    return Ballot(marks=tuple(marks))
