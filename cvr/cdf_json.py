"""The JSON form of NIST CDF CVRs, read incrementally with ijson (see cvr.cdf)."""

from __future__ import annotations

from typing import Iterator

from .cdf_parts import CdfContest, Position
from .errors import CvrError
from .source import Source


def _items(source: Source, prefix: str):
    """The items of the top-level list `prefix` names, one at a time. Invalid JSON is named by the
    last item read whole before it (`CVR 41` means: after the 40th record)."""
    import ijson

    name = prefix.split(".")[0]
    number = 0
    with open(source.path, "rb") as handle:
        try:
            # `number` is read by the except clause below: the record that could not be read
            for number, item in enumerate(ijson.items(handle, prefix, use_float=True), start=1):  # noqa: B007
                yield item
        except (ijson.JSONError, ijson.IncompleteJSONError) as exc:
            raise CvrError(source.path, f"{name} {number + 1}", name, f"invalid JSON: {exc}") from None


def definitions(source: Source) -> tuple[list[CdfContest], dict[str, str]]:
    """Contests and reporting units. The definitions follow the records, so invalid JSON among the
    records is met here first: it is then named by the record it is in."""
    try:
        return _definitions(source)
    except CvrError:
        for _ in _items(source, "CVR.item"):
            pass
        raise


def _definitions(source: Source) -> tuple[list[CdfContest], dict[str, str]]:
    contests: list[CdfContest] = []
    for election in _items(source, "Election.item"):
        candidates = {c.get("@id"): c.get("Name", "") for c in election.get("Candidate", [])}
        for raw in election.get("Contest", []):
            contest = CdfContest(id=str(raw.get("@id", "")), name=str(raw.get("Name", "")))
            for sel in raw.get("ContestSelection", []):
                ids = sel.get("CandidateIds") or []
                name = candidates.get(ids[0], ids[0]) if ids else ""
                contest.selections[str(sel.get("@id"))] = (name, bool(sel.get("IsWriteIn")))
            contests.append(contest)
    units = {u.get("@id"): u.get("Name") or u.get("@id") for u in _items(source, "GpUnit.item")}
    return contests, units


def records(source: Source) -> Iterator[tuple[dict[str, list[Position]], str | None]]:
    for number, cvr in enumerate(_items(source, "CVR.item"), start=1):
        if not isinstance(cvr, dict):
            raise CvrError(source.path, f"CVR {number}", "CVR", "must be an object")
        yield _contests(cvr, source, number), cvr.get("BallotStyleUnitId")


def _contests(cvr: dict, source: Source, number: int) -> dict[str, list[Position]]:
    snapshots = cvr.get("CVRSnapshot") or []
    current = cvr.get("CurrentSnapshotId")
    chosen = [s for s in snapshots if s.get("@id") == current] or snapshots[-1:]
    out: dict[str, list[Position]] = {}
    for snapshot in chosen:
        for contest in snapshot.get("CVRContest") or []:
            if "ContestId" not in contest:
                raise CvrError(source.path, f"CVR {number}", "CVRContest.ContestId", "is missing")
            positions = out.setdefault(str(contest["ContestId"]), [])
            for selection in contest.get("CVRContestSelection") or []:
                for pos in selection.get("SelectionPosition") or []:
                    positions.append(
                        Position(
                            selection=selection.get("ContestSelectionId"),
                            rank=pos.get("Rank"),
                            indicated=pos.get("HasIndication", "yes") != "no",
                            write_in=(pos["CVRWriteIn"] or {}).get("Text", "") if "CVRWriteIn" in pos else None,
                        )
                    )
    return out
