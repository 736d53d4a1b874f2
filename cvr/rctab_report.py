"""A ranked result as RCTab's detailed report JSON (`tally count --format rctab`), so tools that read
RCTab's output read ours: per round the `tally` by candidate name, `tallyResults` (elected,
eliminated, with transfers) and `inactiveBallots` by reason, then a summary. Numbers are decimal
strings, as RCTab writes them.

A multi-pass count (multi-pass IRV) gives one report per pass, as RCTab writes one file per pass.

Transfers are the engine's own, per candidate who stopped continuing: a batch elimination lists
each eliminated candidate's votes apart, and a winner's surplus where it went.
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


def precinct_report(result: dict, precinct: str, output: dict | None = None, number_of_winners: int | None = None) -> dict:
    """RCTab's report of one precinct (tabulateByPrecinct): its own rounds following the contest's
    decisions, its own ballot totals, the contest's final threshold and winners."""
    area = result["precincts"][precinct]
    doc = _report({**result, "totals": area["totals"]}, area["rounds"], output, number_of_winners)
    doc["config"]["precinct"] = precinct
    doc["config"] = dict(sorted(doc["config"].items()))
    return doc


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
                "tallyResults": _tally_results(rnd, names),
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


def _tally_results(rnd: dict, names: dict) -> list[dict]:
    """Who was elected or eliminated in the round and where their votes went next, by candidate
    name as RCTab lists them (a transfer only where votes moved, `exhausted` sorted in)."""
    moved = {t["from"]: t for t in rnd.get("transfers", [])}
    out = [
        (names[c], {key: names[c], "transfers": _transfers(moved.get(c), names)})
        for key, candidates in (("elected", rnd["elected"]), ("eliminated", rnd["eliminated"]))
        for c in candidates
    ]
    return [entry for _, entry in sorted(out, key=lambda pair: pair[0])]


def _transfers(transfer: dict | None, names: dict) -> dict:
    if transfer is None:
        return {}
    out = {names[c]: _text(v) for c, v in transfer["to"].items()}
    if _number(transfer["exhausted"]):
        out["exhausted"] = _text(transfer["exhausted"])
    if "residual_surplus" in transfer:
        out["residual surplus"] = _text(transfer["residual_surplus"])
    return dict(sorted(out.items()))


def _number(value):
    from fractions import Fraction

    return value if isinstance(value, int) else Fraction(value)
