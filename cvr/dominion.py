"""Dominion's CVR export: a folder of JSON manifests and one or more `CvrExport*.json` files.

The manifests are small and read whole; each CvrExport file is streamed session by session with
ijson. A session's current interpretation (`Modified` when there is one, else `Original`) holds
cards, cards hold contests, contests hold marks `{CandidateId, Rank}`. Candidate ids map to the
configuration's candidates through their aliases (Dominion's ids), then by the manifest's name.
A ballot's precinct is its precinct portion's precinct (PrecinctPortionManifest.json, then
PrecinctManifest.json); an export without PrecinctManifest.json has no precinct data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from counting.ballots import Ballot

from .errors import CvrError
from .records import Names, Record
from .source import Source


def read(source: Source, names: Names) -> Iterator[Record]:
    folder = source.path
    candidates = {str(c["Id"]): c.get("Description", "") for c in _manifest(folder, "CandidateManifest.json", source)}
    portions = {}
    if (folder / "PrecinctManifest.json").exists():  # without it the export has no precinct data
        precincts = {p["Id"]: p.get("Description") for p in _manifest(folder, "PrecinctManifest.json", source)}
        portions = {
            p["Id"]: precincts.get(p.get("PrecinctId"))
            for p in _manifest(folder, "PrecinctPortionManifest.json", source)
        }
    exports = sorted(folder.glob("CvrExport*.json"))
    if not exports:
        raise CvrError(folder, "", "CvrExport.json", "no CvrExport*.json file in the folder")
    for export in exports:
        yield from _sessions(export, source, names, candidates, portions)


def _manifest(folder: Path, name: str, source: Source) -> list[dict]:
    try:
        return json.loads((folder / name).read_bytes())["List"]
    except OSError as exc:
        raise CvrError(folder / name, "", "", exc.strerror or str(exc)) from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CvrError(folder / name, "", "List", f"not a Dominion manifest: {exc}") from None


def _sessions(export: Path, source: Source, names: Names, candidates: dict, portions: dict) -> Iterator[Record]:
    import ijson

    with open(export, "rb") as handle:
        try:
            for number, session in enumerate(ijson.items(handle, "Sessions.item"), start=1):
                record = _record(session, export, number, source, names, candidates, portions)
                if record is not None:
                    yield record
        except ijson.JSONError as exc:
            raise CvrError(export, "", "Sessions", f"invalid JSON: {exc}") from None


def _record(session, export, number, source, names, candidates, portions) -> Record | None:
    where = f"session {number}"
    if not isinstance(session, dict):
        raise CvrError(export, where, "", "must be an object")
    current = session.get("Modified") or session.get("Original")
    if not isinstance(current, dict):
        raise CvrError(export, where, "Original", "is missing")
    contests = [c for card in current.get("Cards", []) for c in card.get("Contests", [])]
    if not current.get("Cards") and "Contests" in current:
        contests = current["Contests"]
    mine = [c for c in contests if str(c.get("Id")) == source.contest_id]
    if not mine:
        return None
    marks = []
    for contest in mine:
        for mark in contest.get("Marks", []):
            if mark.get("IsAmbiguous"):
                continue
            code = str(mark.get("CandidateId"))
            rank = mark.get("Rank")
            if not isinstance(rank, int) or isinstance(rank, bool):
                return Record(Ballot(defect="malformed-marks"), portions.get(current.get("PrecinctPortionId")))
            candidate = names.resolve(code)
            if candidate == code and code in candidates:
                candidate = names.resolve(candidates[code])
            if candidate is not None:
                marks.append((candidate, rank))
    precinct = portions.get(current.get("PrecinctPortionId"))
    return Record(Ballot(marks=tuple(marks)), precinct)
