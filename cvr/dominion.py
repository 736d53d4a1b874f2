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
from .export import Export, ExportCandidate, ExportContest, ExportRecord
from .files import entries, folder, limits, open_regular, read_capped
from .json_members import load_whole, members
from .records import Names, Notes, Record
from .source import Source

EXCLUDE_CONTEST = 7  # the outstack condition that takes a contest out of the count
DISTINCT_KEPT = 100_000  # distinct rankings remembered, each with its ballot
_SESSIONS = {"Sessions": "session"}


def read(source: Source, names: Names, notes: Notes) -> Iterator[Record]:
    export = folder(source.path, source.root)
    candidates = {str(c.get("Id")): str(c.get("Description", "")) for c in _manifest(export, "CandidateManifest.json")}
    portions = {key: precinct for key, (_, precinct) in _portions(export).items()}
    ballots: dict[tuple, Ballot] = {}  # each distinct ranking resolved once
    for contest, portion in _contests(export, notes):
        if str(contest.get("Id")) != source.contest_id:
            continue
        marks = _marks(contest.get("Marks", []))
        ballot = ballots.get(marks) if marks is not None else None
        if ballot is None:
            ballot = _ballot(marks, names, candidates)
            if marks is not None and len(ballots) < DISTINCT_KEPT:
                ballots[marks] = ballot
        yield Record(ballot, portions.get(portion))


def read_export(source: Source, export: Export) -> Iterator[ExportRecord]:
    """Every contest of the export: contests from ContestManifest.json (`VoteFor` seats, `NumOfRanks`
    ranks), candidates from CandidateManifest.json by their `ContestId` (a `WriteIn` type is the
    contest's write-in), areas the precinct portions under their precincts."""
    directory = folder(source.path, source.root)
    if (directory / "ContestManifest.json").exists():
        for raw in _manifest(directory, "ContestManifest.json", needs=("Id",)):
            export.contests[str(raw["Id"])] = ExportContest(
                id=str(raw["Id"]), name=str(raw.get("Description") or raw["Id"]),
                seats=_count(raw.get("VoteFor")), ranks=_count(raw.get("NumOfRanks")))
    for raw in _manifest(directory, "CandidateManifest.json", needs=("Id",)):
        contest = _contest(export, str(raw.get("ContestId")))
        contest.candidates[str(raw["Id"])] = ExportCandidate(
            id=str(raw["Id"]), name=str(raw.get("Description") or raw["Id"]),
            write_in="writein" in str(raw.get("Type", "")).lower().replace("-", "").replace(" ", ""))
    areas = {}
    for key, (portion, precinct) in _portions(directory).items():
        areas[key] = export.area(portion or precinct, portion or precinct, precinct if portion and precinct != portion else None)
        if precinct and precinct != portion:
            export.area(precinct, precinct)
    for contest, portion in _contests(directory, export.notes):
        key = str(contest.get("Id"))
        marks = _marks(contest.get("Marks", []))
        entry = _contest(export, key)
        if marks is None:
            yield ExportRecord(key, areas.get(portion), (), "malformed-marks")
            continue
        for _, rank in marks:
            entry.highest_rank = max(entry.highest_rank, rank)
        yield ExportRecord(key, areas.get(portion), marks)


def _contest(export: Export, key: str) -> ExportContest:
    contest = export.contests.get(key)
    if contest is None:  # a contest the manifest does not list: named by its id
        contest = export.contests[key] = ExportContest(id=key, name=key)
    return contest


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _portions(directory: Path) -> dict[Any, tuple[str | None, str | None]]:
    """Each precinct portion's id -> (its name, its precinct's name); none without PrecinctManifest.json."""
    if not (directory / "PrecinctManifest.json").exists():
        return {}
    precincts = {p.get("Id"): p.get("Description") for p in _manifest(directory, "PrecinctManifest.json")}
    return {p["Id"]: (_text(p.get("Description")), _text(precincts.get(p.get("PrecinctId"))))
            for p in _manifest(directory, "PrecinctPortionManifest.json", needs=("Id",))}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _contests(directory: Path, notes: Notes) -> Iterator[tuple[dict, Any]]:
    """Each contest of each card of each session's current interpretation, with its precinct portion id."""
    files = entries(directory, suffix=".json", prefix="CvrExport")
    if not files:
        raise CvrError(directory, "", "CvrExport.json", "no CvrExport*.json file in the folder")
    for path in files:
        with open_regular(path, directory) as handle:
            for name, number, session in members(handle, str(path), _SESSIONS):
                if name == "Sessions" and number is not None:
                    yield from _session_contests(session, str(path), f"session {number}", notes)


def _manifest(directory: Path, name: str, needs: tuple[str, ...] = ()) -> list[dict]:
    path = directory / name
    with open_regular(path, directory) as handle:
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


def _session_contests(session, path: str, where: str, notes: Notes) -> Iterator[tuple[dict, Any]]:
    if not isinstance(session, dict):
        raise CvrError(path, where, "", "must be an object")
    current = _current(session, path, where)
    if current is None:
        notes.leave_out("a Dominion session with no current interpretation (Original not current, no Modified)")
        return
    cards = current.get("Cards") if "Cards" in current else [current]
    if not isinstance(cards, list):
        raise CvrError(path, where, "Cards", "must be a list")
    portion = current.get("PrecinctPortionId")
    for card in cards:
        contests = card.get("Contests", []) if isinstance(card, dict) else None
        if not isinstance(contests, list):
            raise CvrError(path, where, "Cards.Contests", "must be a list of contests")
        for contest in contests:
            if not isinstance(contest, dict):
                raise CvrError(path, where, "Contests", "each contest must be an object")
            outstack = contest.get("OutstackConditionIds") or []
            if isinstance(outstack, list) and EXCLUDE_CONTEST in outstack:
                notes.leave_out(f"a contest with Dominion's outstack condition {EXCLUDE_CONTEST} (exclude the contest)")
                continue
            yield contest, portion


def _marks(marks: Any) -> tuple[tuple[str, int], ...] | None:
    """A contest's marks as (Dominion's candidate id, rank), ambiguous marks left out; None if malformed."""
    if not isinstance(marks, list):
        return None
    out = []
    for mark in marks:
        if not isinstance(mark, dict):
            return None
        if mark.get("IsAmbiguous"):
            continue
        rank = mark.get("Rank")
        if not isinstance(rank, int) or isinstance(rank, bool):
            return None
        out.append((str(mark.get("CandidateId")), rank))
    return tuple(out)


def _ballot(marks: tuple[tuple[str, int], ...] | None, names: Names, candidates: dict[str, str]) -> Ballot:
    if marks is None:
        return Ballot(defect="malformed-marks")
    out = []
    for code, rank in marks:
        candidate = names.resolve(code)
        if candidate == code and code in candidates:
            candidate = names.resolve(candidates[code])
        if candidate is not None:
            out.append((candidate, rank))
    return Ballot(marks=tuple(out))
