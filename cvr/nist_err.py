"""Published results as a NIST SP 1500-100 v2 ElectionReport (JSON), the format election offices
publish results in. Pure: it renders what the pipeline published and never reads the database.

Areas are ReportingUnits (the root is the election's scope, the others its composing units, each
reporting its whole subtree); each contest is a CandidateContest whose CandidateSelections carry
VoteCounts per ReportingUnit:
for round-based methods one count per round (the standard's `Round`), else the total. Counts are
the engine's exact numbers; the schema wants JSON numbers, so a fractional count (Meek STV) is
written as the nearest binary float: this file reports, it never decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

VERSION = "tally worker 0.1.0"
VARIATIONS = {
    "instant-runoff": "rcv",
    "rcv": "rcv",  # ranked-choice voting as RCTab counts it, one seat or several
    "plurality-at-large": "plurality",
    "approval": "approval",
    "cumulative": "cumulative",
    "borda": "borda",
    "meek-stv": "proportional",
}


@dataclass(frozen=True)
class Area:
    key: str
    name: str
    parent: str | None


@dataclass(frozen=True)
class ContestInfo:
    key: str
    name: str
    method: str
    seats: int
    votes_allowed: int
    candidates: Sequence[tuple[str, str, bool]]  # (id, name, undeclared write-in)


def _text(content: str) -> dict:
    return {
        "@type": "ElectionResults.InternationalizedText",
        "Text": [{"@type": "ElectionResults.LanguageString", "Content": content, "Language": "en"}],
    }


def _number(value: Any) -> int | float:
    if isinstance(value, int):
        return value
    exact = Fraction(str(value))
    return int(exact) if exact.denominator == 1 else float(exact)


def _unit_id(key: str) -> str:
    return f"ru-{key}"


def election_report(
    election_key: str, election_name: str, generated: str, start_date: str, end_date: str,
    areas: Sequence[Area], contests: Sequence[ContestInfo], published: dict,
) -> dict:
    roots = [a for a in areas if a.parent is None]
    scope = _unit_id(roots[0].key) if len(roots) == 1 else f"ru-{election_key}"
    units = [_unit(a, areas) for a in areas]
    if len(roots) != 1:  # several trees: one scope composed of their roots
        units.insert(0, {
            "@id": scope, "@type": "ElectionResults.ReportingUnit", "Type": "other", "OtherType": "election scope",
            "Name": _text(election_name), "ComposingGpUnitIds": [_unit_id(a.key) for a in roots],
        })
    results = _latest_results(published)
    candidates, contest_docs = [], []
    for contest in contests:
        ids = {cid: f"cand-{contest.key}-{i}" for i, (cid, _, _) in enumerate(contest.candidates)}
        candidates.extend(
            {"@id": ids[cid], "@type": "ElectionResults.Candidate", "BallotName": _text(name or cid)}
            for cid, name, _ in contest.candidates
        )
        contest_docs.append(_contest(contest, ids, scope, results.get(contest.key)))
    return {
        "@type": "ElectionResults.ElectionReport",
        "Format": "precinct-level",
        "GeneratedDate": generated,
        "Issuer": "tally worker",
        "IssuerAbbreviation": "tally",
        "SequenceStart": 1,
        "SequenceEnd": 1,
        "Status": "unofficial-complete",
        "VendorApplicationId": VERSION,
        "GpUnit": units,
        "Election": [
            {
                "@type": "ElectionResults.Election",
                "Name": _text(election_name),
                "StartDate": start_date,
                "EndDate": end_date,
                "Type": "other",
                "ElectionScopeId": scope,
                "Candidate": candidates,
                "Contest": contest_docs,
            }
        ],
    }


def _unit(area: Area, areas: Sequence[Area]) -> dict:
    children = [_unit_id(a.key) for a in areas if a.parent == area.key]
    unit = {
        "@id": _unit_id(area.key),
        "@type": "ElectionResults.ReportingUnit",
        "Name": _text(area.name or area.key),
        "Type": "precinct" if not children and area.parent is not None else "other",
    }
    if unit["Type"] == "other":
        unit["OtherType"] = "area" if area.parent is not None else "election scope"
    if children:
        unit["ComposingGpUnitIds"] = children
    return unit


def _latest_results(published: dict) -> dict[str, tuple[dict, dict]]:
    """contest key -> (contest result, {area key: the area's result}) from the latest completed
    tally. A reporting unit's counts include its composing units, so an area with children reports
    its subtree's result, a leaf its own."""
    out: dict[str, tuple[dict, dict]] = {}
    for tally in published.get("tallies", []):
        for contest in tally["contests"]:
            if "result" in contest:
                out[contest["contest"]] = (contest["result"], {**contest["areas"], **contest["subtrees"]})
    return out


def _contest(contest: ContestInfo, ids: dict, scope: str, results: tuple[dict, dict] | None) -> dict:
    scopes: list[tuple[str, dict]] = []
    if results is not None:
        whole, by_area = results
        scopes = [(scope, whole)] + [(_unit_id(k), r) for k, r in sorted(by_area.items()) if _unit_id(k) != scope]
    selections = []
    for i, (cid, _, write_in) in enumerate(contest.candidates):
        counts = [vc for unit, result in scopes for vc in _vote_counts(cid, unit, result)]
        selection = {
            "@id": f"sel-{contest.key}-{i}",
            "@type": "ElectionResults.CandidateSelection",
            "CandidateIds": [ids[cid]],
            "SequenceOrder": i + 1,
            "VoteCounts": counts,
        }
        if write_in:
            selection["IsWriteIn"] = True
        selections.append(selection)
    variation = VARIATIONS.get(contest.method, "other")
    doc = {
        "@id": f"contest-{contest.key}",
        "@type": "ElectionResults.CandidateContest",
        "ElectionDistrictId": scope,
        "Name": contest.name or contest.key,
        "VotesAllowed": contest.votes_allowed,
        "NumberElected": contest.seats,
        "VoteVariation": variation,
        "ContestSelection": selections,
        "OtherCounts": [
            {
                "@type": "ElectionResults.OtherCounts",
                "GpUnitId": unit,
                "Overvotes": _number(result["extended_metrics"]["over_votes"]),
                "Undervotes": _number(result["extended_metrics"]["under_votes"]),
            }
            for unit, result in scopes
        ],
    }
    if variation == "other":
        doc["OtherVoteVariation"] = contest.method
    return doc


def _vote_counts(cid: str, unit: str, result: dict) -> list[dict]:
    rounds = result.get("rounds") or []
    if rounds:
        return [
            {"@type": "ElectionResults.VoteCounts", "Count": _number(r["tallies"][cid]), "GpUnitId": unit,
             "Round": r["round"], "Type": "total"}
            for r in rounds
            if cid in r["tallies"]
        ]
    total = next((c["total_count"] for c in result.get("candidates", []) if c["id"] == cid), None)
    if total is None:
        return []
    return [{"@type": "ElectionResults.VoteCounts", "Count": _number(total), "GpUnitId": unit, "Type": "total"}]
