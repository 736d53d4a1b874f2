"""The XML form of NIST CDF CVRs, streamed with lxml's iterparse (see cvr.cdf). Elements are
matched by local name: files in the wild use more than one namespace for the same schema."""

from __future__ import annotations

from typing import Iterator

from .cdf_parts import CdfContest, Position
from .errors import CvrError
from .source import Source


def _local(element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(element, name: str):
    for child in element:
        if _local(child) == name:
            return child
    return None


def _children(element, name: str):
    return [child for child in element if _local(child) == name]


def _text(element, name: str) -> str | None:
    child = _child(element, name)
    return None if child is None or child.text is None else child.text.strip()


def _elements(source: Source, names: tuple[str, ...]):
    from lxml import etree

    try:
        for _, element in etree.iterparse(str(source.path), events=("end",), tag=[f"{{*}}{n}" for n in names]):
            if element.getparent() is not None and _local(element.getparent()) != "CastVoteRecordReport":
                continue  # e.g. a Candidate inside Election is read with its Election
            yield element
            element.clear(keep_tail=False)
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except etree.XMLSyntaxError as exc:
        raise CvrError(source.path, f"line {exc.lineno}", "", f"invalid XML: {exc.msg}") from None


def definitions(source: Source) -> tuple[list[CdfContest], dict[str, str]]:
    contests: list[CdfContest] = []
    units: dict[str, str] = {}
    for element in _elements(source, ("Election", "GpUnit", "CVR")):
        kind = _local(element)
        if kind == "GpUnit":
            units[element.get("ObjectId")] = _text(element, "Name") or element.get("ObjectId")
        elif kind == "Election":
            candidates = {c.get("ObjectId"): _text(c, "Name") or "" for c in _children(element, "Candidate")}
            for raw in _children(element, "Contest"):
                contest = CdfContest(id=raw.get("ObjectId") or "", name=_text(raw, "Name") or "")
                for sel in _children(raw, "ContestSelection"):
                    ids = _text(sel, "CandidateIds")
                    name = candidates.get(ids, ids) if ids else ""
                    contest.selections[sel.get("ObjectId")] = (name or "", (_text(sel, "IsWriteIn") or "") == "true")
                contests.append(contest)
    return contests, units


def records(source: Source) -> Iterator[tuple[dict[str, list[Position]], str | None]]:
    for number, cvr in enumerate(_elements(source, ("CVR",)), start=1):
        yield _contests(cvr, source, number), _text(cvr, "BallotStyleUnitId")


def _write_in(position) -> str | None:
    element = _child(position, "CVRWriteIn")
    return None if element is None else _text(element, "Text") or ""


def _contests(cvr, source: Source, number: int) -> dict[str, list[Position]]:
    snapshots = _children(cvr, "CVRSnapshot")
    current = _text(cvr, "CurrentSnapshotId")
    chosen = [s for s in snapshots if s.get("ObjectId") == current] or snapshots[-1:]
    out: dict[str, list[Position]] = {}
    for snapshot in chosen:
        for contest in _children(snapshot, "CVRContest"):
            contest_id = _text(contest, "ContestId")
            if contest_id is None:
                raise CvrError(source.path, f"CVR {number}", "CVRContest.ContestId", "is missing")
            positions = out.setdefault(contest_id, [])
            for selection in _children(contest, "CVRContestSelection"):
                for pos in _children(selection, "SelectionPosition"):
                    positions.append(
                        Position(
                            selection=_text(selection, "ContestSelectionId"),
                            rank=_text(pos, "Rank"),
                            indicated=(_text(pos, "HasIndication") or "yes") != "no",
                            write_in=_write_in(pos),
                        )
                    )
    return out
