"""The XML form of NIST CDF CVRs, streamed with lxml's iterparse (see cvr.cdf). Elements are
matched by local name: files in the wild use more than one namespace for the same schema."""

from __future__ import annotations

from typing import Iterator

from .cdf_parts import DEFINITIONS, RECORD, CdfContest, Contests, Position
from .errors import CvrError
from .files import open_regular
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
        with open_regular(source.path, source.root) as handle:
            yield from _parsed(etree.iterparse(handle, events=("end",), tag=[f"{{*}}{n}" for n in names],
                                               resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise CvrError(source.path, f"line {exc.lineno}", "", f"invalid XML: {exc.msg}") from None


def _parsed(elements):
    for _, element in elements:
        if element.getparent() is not None and _local(element.getparent()) != "CastVoteRecordReport":
            continue  # e.g. a Candidate inside Election is read with its Election
        yield element
        element.clear(keep_tail=False)
        parent = element.getparent()
        while parent is not None and element.getprevious() is not None:
            del parent[0]


def read(source: Source) -> Iterator[tuple[str, object]]:
    """In one pass: each record as it is met, the definitions (which may be anywhere) at the end."""
    contests: list[CdfContest] = []
    units: dict[str, str] = {}
    parents: dict[str, str] = {}  # each split's precinct (ComposingGpUnitIds of a unit of Type precinct)
    number = 0
    for element in _elements(source, ("Election", "GpUnit", "CVR")):
        kind = _local(element)
        if kind == "CVR":
            number += 1
            yield RECORD, (_contests(element, source, number), _text(element, "BallotStyleUnitId"))
        elif kind == "GpUnit":
            units[element.get("ObjectId")] = _text(element, "Name") or element.get("ObjectId")
            if (_text(element, "Type") or "").lower() == "precinct":
                for child in (_text(element, "ComposingGpUnitIds") or "").split():
                    parents[child] = element.get("ObjectId")
        else:
            contests.extend(_election(element))
    yield DEFINITIONS, (contests, units, parents)


def _election(element) -> list[CdfContest]:
    candidates = {c.get("ObjectId"): _text(c, "Name") or "" for c in _children(element, "Candidate")}
    contests = []
    for raw in _children(element, "Contest"):
        contest = CdfContest(id=raw.get("ObjectId") or "", name=_text(raw, "Name") or "",
                             vote_variation=_text(raw, "VoteVariation"), seats=_whole(_text(raw, "NumberElected")),
                             votes_allowed=_whole(_text(raw, "VotesAllowed")))
        for sel in _children(raw, "ContestSelection"):
            ids = _text(sel, "CandidateIds")
            name = candidates.get(ids, ids) if ids else ""
            contest.selections[sel.get("ObjectId")] = (name or "", (_text(sel, "IsWriteIn") or "") == "true")
            if ids:
                contest.candidate_of[sel.get("ObjectId")] = ids.split()[0]
        contests.append(contest)
    return contests


def _whole(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and int(text) > 0 else None


def _write_in(position) -> str | None:
    element = _child(position, "CVRWriteIn")
    return None if element is None else _text(element, "Text") or ""


def _contests(cvr, source: Source, number: int) -> Contests:
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
                # RCTab's reading of CDF XML: a selection still to be adjudicated is not a mark yet
                if _text(selection, "Status") == "needs-adjudication":
                    continue
                for pos in _children(selection, "SelectionPosition"):
                    counted = (_text(pos, "HasIndication") or "yes") != "no" and _text(pos, "IsAllocable") != "no"
                    positions.append((_text(selection, "ContestSelectionId"), _text(pos, "Rank"),
                                      counted, _write_in(pos)))
    return tuple((contest, tuple(positions)) for contest, positions in out.items())
