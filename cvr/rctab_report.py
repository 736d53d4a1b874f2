"""A ranked result as RCTab's detailed report JSON (`tally count --format rctab`), so tools that read
RCTab's output read ours: per round the `tally` by candidate name, `tallyResults` (elected,
eliminated, with transfers) and `inactiveBallots` by reason, then a summary. Numbers are decimal
strings, as RCTab writes them.

A multi-pass count (multi-pass IRV) gives one report per pass, as RCTab writes one file per pass.

Transfers are derived from consecutive rounds, so they are exact when one candidate leaves a
round; when several are eliminated at once (batch elimination) the report cannot split the
transfers between them and gives each an empty `transfers`.
"""

from __future__ import annotations

from typing import Any

from counting.vocabulary import Exhausted

GENERATED_BY = "tally worker"
FINAL_ROUND_SURPLUS = Exhausted.FINAL_ROUND_SURPLUS  # the last winners' surplus, left untransferred

# The engine's reasons a ballot became inactive -> RCTab's names for them.
INACTIVE = {
    Exhausted.NO_MORE_CHOICES: "exhaustedChoices",
    Exhausted.OVERVOTE: "overvotes",
    Exhausted.REPEATED_CANDIDATE: "repeatedRankings",
    Exhausted.SKIPPED_RANKS: "skippedRankings",
}


def _text(value: Any) -> str:
    return str(value)


def report(result: dict, output: dict | None = None, number_of_winners: int | None = None) -> dict | list[dict]:
    """RCTab's detailed report of a round-based result (a list of them, one per pass, for a
    multi-pass count); `output` is the configuration's `outputSettings` (contest name, date,
    jurisdiction, office), `number_of_winners` RCTab's (default: the contest's seats)."""
    if result.get("passes"):
        return [_report(result, p["rounds"], output, 1) for p in result["passes"]]
    return _report(result, result.get("rounds") or [], output, number_of_winners)


def _report(result: dict, rounds: list[dict], output: dict | None, number_of_winners: int | None) -> dict:
    output = output or {}
    names = {c["id"]: c.get("name") or c["id"] for c in result["candidates"]}
    results = []
    for i, rnd in enumerate(rounds):
        following = rounds[i + 1] if i + 1 < len(rounds) else None
        inactive = {rctab: _text(rnd["exhausted_by"].get(ours, 0)) for ours, rctab in INACTIVE.items()}
        if following is None and "residual_surplus" in rnd:  # a count that transfers surpluses
            inactive["finalRoundSurplus"] = _text(rnd["exhausted_by"].get(FINAL_ROUND_SURPLUS, 0))
        results.append(
            {
                "inactiveBallots": dict(sorted(inactive.items())),
                "round": rnd["round"],
                "tally": {names[c]: _text(v) for c, v in sorted(rnd["tallies"].items(), key=lambda kv: names[kv[0]])},
                "tallyResults": _tally_results(rnd, following, names),
                "threshold": _text(rnd["threshold"]),
            }
        )
    totals = result["totals"]
    return {
        "config": {
            "contest": output.get("contestName", result["contest"]),
            "date": output.get("contestDate", ""),
            "generatedBy": GENERATED_BY,
            "jurisdiction": output.get("contestJurisdiction", ""),
            "office": output.get("contestOffice", ""),
        },
        "jsonFormatVersion": "1",
        "results": results,
        "summary": {
            "finalThreshold": _text(rounds[-1]["threshold"]) if rounds else "",
            "numCandidates": len(result["candidates"]),
            "numWinners": result["seats"] if number_of_winners is None else number_of_winners,
            "totalNumBallots": _text(totals["total_votes"]),
            "undervotes": totals["blank"],
        },
    }


def _tally_results(rnd: dict, following: dict | None, names: dict) -> list[dict]:
    out: list[dict] = []
    for c in rnd["elected"]:
        out.append({"elected": names[c], "transfers": {}})
    alone = len(rnd["eliminated"]) == 1 and following is not None
    for c in rnd["eliminated"]:
        out.append({"eliminated": names[c], "transfers": _transfers(rnd, following, names) if alone else {}})
    return out


def _transfers(rnd: dict, following: dict, names: dict) -> dict:
    moved = {}
    for c, votes in following["tallies"].items():
        gained = _number(votes) - _number(rnd["tallies"].get(c, 0))
        if gained:
            moved[names[c]] = gained
    exhausted = _number(following["exhausted"]) - _number(rnd["exhausted"])
    out = {name: _text(v) for name, v in sorted(moved.items())}
    if exhausted:
        out["exhausted"] = _text(exhausted)
    return out


def _number(value):
    from fractions import Fraction

    return value if isinstance(value, int) else Fraction(value)
