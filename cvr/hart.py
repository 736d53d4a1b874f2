"""Hart Verity CVR archives: XML files, one ballot each, in a folder or a .zip archive, read with lxml.

The configured contest's options are the marks: an option's `Value` is a string of 0/1 digits, the
n-th digit 1 meaning rank n. Option ids (GUIDs) map to candidates through the configuration's
aliases, then by the option's name. A file without the contest is not a ballot of it.
"""

from __future__ import annotations

import zipfile
from typing import Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .export import Export, ExportCandidate, ExportContest, ExportRecord
from .files import entries, folder, inside, limits, members, open_regular, read_capped
from .records import Names, Notes, Record
from .source import Source


def _local(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element, name: str):
    return next((c for c in element if _local(c) == name), None)


def _text(element, name: str) -> str:
    child = None if element is None else _child(element, name)
    return "" if child is None or child.text is None else child.text.strip()


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    from lxml import etree

    # No entity is expanded and nothing fetched: a ballot document is data, never instructions.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    for name, document in _documents(source):
        try:
            root = etree.fromstring(document, parser)
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


def read_export(source: Source, export: Export) -> Iterator[ExportRecord]:
    """Every contest of every ballot document, by its id; its candidates the options seen (by id;
    a write-in option without a name is the contest's write-in); areas the precinct splits. A Hart
    CVR does not say a contest's seats, so `undefined` asks for the contest to be defined first."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    for name, document in _documents(source):
        try:
            root = etree.fromstring(document, parser)
        except etree.XMLSyntaxError as exc:
            raise CvrError(name, f"line {exc.lineno}", "", f"invalid XML: {exc.msg}") from None
        split = _text(_child(root, "PrecinctSplit"), "Name") or None
        area = export.area(split)
        contests = _child(root, "Contests")
        for raw in contests if contests is not None else ():
            key = _text(raw, "Id") or _text(raw, "Name")
            contest = export.contests.get(key)
            if contest is None:
                contest = export.contests[key] = ExportContest(
                    id=key, name=_text(raw, "Name") or key,
                    undefined="a Hart CVR lists the options marked and not the contest's seats or rules")
            marks = []
            options = _child(raw, "Options")
            for option in options if options is not None else ():
                value = _text(option, "Value")
                if value.strip("01"):
                    marks = None
                    break
                code = _text(option, "Id")
                written = _child(option, "WriteInData") is not None and not _text(option, "Name")
                contest.candidates.setdefault(code, ExportCandidate(code, _text(option, "Name") or "Write-in", written))
                ranks = [rank for rank, digit in enumerate(value, start=1) if digit == "1"]
                contest.highest_rank = max([contest.highest_rank, *ranks])
                marks.extend((code, rank) for rank in ranks)
            yield ExportRecord(key, area, (), "malformed-marks") if marks is None else ExportRecord(key, area, tuple(marks))


def _documents(source: Source) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each ballot's XML document, in name order: the files of a folder, the
    members of a .zip archive (as Hart exports them), or the one file given; each one within
    `TALLY_CVR_RECORD_BYTES`, and an archive's members read as streams up to it."""
    limit = limits().record_bytes
    if inside(source.path, source.root).is_dir():
        directory = folder(source.path, source.root)
        for path in entries(directory, suffix=".xml"):
            with open_regular(path, directory) as handle:
                yield str(path), read_capped(handle, limit, str(path), "the ballot document")
        return
    with open_regular(source.path, source.root) as handle:
        if zipfile.is_zipfile(handle):
            handle.seek(0)
            try:
                archive = zipfile.ZipFile(handle)
            except zipfile.BadZipFile as exc:
                raise CvrError(source.path, "", "", f"not a readable .zip archive: {exc}") from None
            with archive:
                yield from members(archive, str(source.path), ".xml")
        else:
            handle.seek(0)
            yield str(source.path), read_capped(handle, limit, str(source.path), "the ballot document")


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
