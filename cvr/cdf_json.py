"""The JSON form of NIST CDF CVRs, read in one pass member by member (cvr.json_members; see cvr.cdf)."""

from __future__ import annotations

from typing import Any, Iterator

from .cdf_parts import DEFINITIONS, RECORD, CdfContest, Contests, Position
from .errors import CvrError
from .files import open_regular
from .source import Source

_STREAMED = {"CVR": "CVR"}
_NO_WRITE_IN = object()


def read(source: Source) -> Iterator[tuple[str, Any]]:
    from .json_members import members

    contests: list[CdfContest] | None = None
    units: dict[str, str] | None = None
    parents: dict[str, str] = {}
    with open_regular(source.path, source.root) as handle:
        for name, number, value in members(handle, str(source.path), _STREAMED):
            if name == "CVR" and number is not None:
                if not isinstance(value, dict):
                    raise CvrError(source.path, f"CVR {number}", "CVR", "must be an object")
                yield RECORD, (_contests(value, source, number), _unit(value))
            elif name in ("Election", "GpUnit"):
                if (contests if name == "Election" else units) is not None:
                    raise CvrError(source.path, "", name, "appears twice")
                if name == "Election":
                    contests = _election(value, source)
                else:
                    units, parents = _units(value, source), _precinct_of(value)
                if contests is not None and units is not None:
                    yield DEFINITIONS, (contests, units, parents)
    if contests is None or units is None:
        yield DEFINITIONS, (contests or [], units or {}, parents)


def _list(value: Any, source: Source, where: str) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise CvrError(source.path, "", where, "must be a list of objects")
    return value


def _election(value: Any, source: Source) -> list[CdfContest]:
    contests: list[CdfContest] = []
    for election in _list(value, source, "Election"):
        candidates = {c.get("@id"): c.get("Name", "") for c in _list(election.get("Candidate"), source, "Election.Candidate")}
        for raw in _list(election.get("Contest"), source, "Election.Contest"):
            contest = CdfContest(id=str(raw.get("@id", "")), name=str(raw.get("Name", "")),
                                 vote_variation=_optional_text(raw.get("VoteVariation")),
                                 seats=_whole(raw.get("NumberElected")), votes_allowed=_whole(raw.get("VotesAllowed")))
            for sel in _list(raw.get("ContestSelection"), source, "Election.Contest.ContestSelection"):
                ids = sel.get("CandidateIds") or []
                if not isinstance(ids, list):
                    raise CvrError(source.path, "", "ContestSelection.CandidateIds", "must be a list")
                name = candidates.get(ids[0], ids[0]) if ids else ""
                contest.selections[str(sel.get("@id"))] = (str(name), bool(sel.get("IsWriteIn")))
                if ids:
                    contest.candidate_of[str(sel.get("@id"))] = str(ids[0])
            contests.append(contest)
    return contests


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _whole(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _units(value: Any, source: Source) -> dict[str, str]:
    return {u.get("@id"): u.get("Name") or u.get("@id") for u in _list(value, source, "GpUnit")}


def _precinct_of(value: Any) -> dict[str, str]:
    """Each split's precinct: the units a unit of Type `precinct` lists in ComposingGpUnitIds."""
    out = {}
    for unit in value if isinstance(value, list) else ():
        if isinstance(unit, dict) and str(unit.get("Type", "")).lower() == "precinct":
            for child in unit.get("ComposingGpUnitIds") or ():
                out[str(child)] = str(unit.get("@id"))
    return out


def _unit(cvr: dict) -> str | None:
    unit = cvr.get("BallotStyleUnitId")
    return unit if isinstance(unit, str) or unit is None else str(unit)


def _contests(cvr: dict, source: Source, number: int) -> Contests:
    """The current snapshot's positions per contest. The hot loop of a CDF file: a wrong shape (a
    list where an object belongs) is caught once, around it, rather than checked at every step."""
    try:
        snapshots = cvr.get("CVRSnapshot") or ()
        if len(snapshots) > 1:
            current = cvr.get("CurrentSnapshotId")
            snapshots = [s for s in snapshots if s.get("@id") == current] or snapshots[-1:]
        out: dict[str, list[Position]] = {}
        for snapshot in snapshots:
            for contest in snapshot.get("CVRContest") or ():
                key = contest.get("ContestId")
                if key is None:
                    raise CvrError(source.path, f"CVR {number}", "CVRContest.ContestId", "is missing")
                if not isinstance(key, str):
                    key = str(key)
                positions = out.get(key)
                if positions is None:
                    positions = out[key] = []
                for selection in contest.get("CVRContestSelection") or ():
                    chosen = selection.get("ContestSelectionId")
                    for pos in selection.get("SelectionPosition") or ():
                        write_in = pos.get("CVRWriteIn", _NO_WRITE_IN)
                        write_in = None if write_in is _NO_WRITE_IN else (write_in or {}).get("Text", "")
                        # RCTab passes over a mark with no indication or that is not allocable
                        counted = pos.get("HasIndication", "yes") != "no" and pos.get("IsAllocable") != "no"
                        positions.append((chosen, pos.get("Rank"), counted, write_in))
    except (AttributeError, TypeError, KeyError):  # a list where an object belongs, or the reverse
        raise CvrError(source.path, f"CVR {number}", "CVRSnapshot", "is not shaped as the CDF schema says") from None
    return tuple((contest, tuple(positions)) for contest, positions in out.items())
