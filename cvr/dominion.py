"""Dominion's CVR export: a folder of JSON manifests and one or more `CvrExport*.json` files.

The manifests are small and read whole (each within `TALLY_CVR_RECORD_BYTES`); each CvrExport
file is read session by session (cvr.json_members). Which interpretation of a session counts is
RCTab's rule: `Original` when it says `IsCurrent`, else `Modified`; a session with neither is left
out and counted apart (an `Original` that does not say is taken as current only when there is no
`Modified`). Cards hold contests (a session without cards is its own card), contests hold marks
`{CandidateId, Rank}`; an ambiguous mark is not a mark. A contest whose `OutstackConditionIds`
hold 7 (Dominion's "exclude this contest") is left out of the count and counted apart, as RCTab
does. Each occurrence of the contest on a card is one record. Candidate ids map to the
configuration's candidates through their aliases (Dominion's ids), then by the manifest's name.
A ballot's precinct is its precinct portion's precinct (PrecinctPortionManifest.json, then
PrecinctManifest.json); an export without PrecinctManifest.json has no precinct data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .files import entries, folder, limits, open_regular, read_capped
from .json_members import load_whole, members
from .records import Names, Notes, Record
from .source import Source

EXCLUDE_CONTEST = 7  # the outstack condition that takes a contest out of the count
_SESSIONS = {"Sessions": "session"}


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    export = folder(source.path, source.root)
    candidates = {str(c.get("Id")): str(c.get("Description", "")) for c in _manifest(export, "CandidateManifest.json", source)}
    portions: dict[Any, str | None] = {}
    if (export / "PrecinctManifest.json").exists():  # without it the export has no precinct data
        precincts = {p.get("Id"): p.get("Description") for p in _manifest(export, "PrecinctManifest.json", source)}
        portions = {p.get("Id"): precincts.get(p.get("PrecinctId"))
                    for p in _manifest(export, "PrecinctPortionManifest.json", source, needs=("Id",))}
    files = entries(export, suffix=".json", prefix="CvrExport")
    if not files:
        raise CvrError(export, "", "CvrExport.json", "no CvrExport*.json file in the folder")
    for path in files:
        with open_regular(path, export) as handle:
            for name, number, session in members(handle, str(path), _SESSIONS):
                if name == "Sessions" and number is not None:
                    yield from _records(session, f"{path}", f"session {number}", source, names, notes, candidates, portions)


def _manifest(export: Path, name: str, source: Source, needs: tuple[str, ...] = ()) -> list[dict]:
    path = export / name
    with open_regular(path, export) as handle:
        document = load_whole(read_capped(handle, limits().record_bytes, str(path), "the manifest"), str(path))
    items = document.get("List") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise CvrError(path, "", "List", "not a Dominion manifest: no `List` of entries")
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise CvrError(path, f"List entry {number}", "", "must be an object")
        for key in needs:
            if key not in item:
                raise CvrError(path, f"List entry {number}", key, "is missing")
    return items


def _current(session: dict, path: str, where: str) -> dict | None:
    original, modified = session.get("Original"), session.get("Modified")
    for key, value in (("Original", original), ("Modified", modified)):
        if value is not None and not isinstance(value, dict):
            raise CvrError(path, where, key, "must be an object")
    if original is not None and original.get("IsCurrent") is True:
        return original
    if modified is not None:
        return modified
    if original is not None and "IsCurrent" not in original:
        return original
    return None


def _records(session, path, where, source, names, notes, candidates, portions) -> Iterator[Record]:
    if not isinstance(session, dict):
        raise CvrError(path, where, "", "must be an object")
    current = _current(session, path, where)
    if current is None:
        notes.leave_out("a Dominion session with no current interpretation (Original not current, no Modified)")
        return
    cards = current.get("Cards") if "Cards" in current else [current]
    if not isinstance(cards, list):
        raise CvrError(path, where, "Cards", "must be a list")
    precinct = portions.get(current.get("PrecinctPortionId"))
    for card in cards:
        contests = card.get("Contests", []) if isinstance(card, dict) else None
        if not isinstance(contests, list):
            raise CvrError(path, where, "Cards.Contests", "must be a list of contests")
        for contest in contests:
            if not isinstance(contest, dict):
                raise CvrError(path, where, "Contests", "each contest must be an object")
            if str(contest.get("Id")) != source.contest_id:
                continue
            outstack = contest.get("OutstackConditionIds") or []
            if isinstance(outstack, list) and EXCLUDE_CONTEST in outstack:
                notes.leave_out(f"a contest with Dominion's outstack condition {EXCLUDE_CONTEST} (exclude the contest)")
                continue
            yield Record(_ballot(contest.get("Marks", []), names, candidates), precinct)


def _ballot(marks: Any, names: Names, candidates: dict[str, str]) -> Ballot:
    if not isinstance(marks, list):
        return Ballot(defect="malformed-marks")
    out = []
    for mark in marks:
        if not isinstance(mark, dict):
            return Ballot(defect="malformed-marks")
        if mark.get("IsAmbiguous"):
            continue
        code = str(mark.get("CandidateId"))
        rank = mark.get("Rank")
        if not isinstance(rank, int) or isinstance(rank, bool):
            return Ballot(defect="malformed-marks")
        candidate = names.resolve(code)
        if candidate == code and code in candidates:
            candidate = names.resolve(candidates[code])
        if candidate is not None:
            out.append((candidate, rank))
    return Ballot(marks=tuple(out))
