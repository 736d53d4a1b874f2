"""A ranked result as RCTab's detailed report JSON (`tally count --format rctab`), so tools that read
RCTab's output read ours: per round the `tally` by candidate name, `tallyResults` (elected,
eliminated, with transfers) and `inactiveBallots` by reason, then a summary. Numbers are decimal
strings, as RCTab writes them.

A multi-pass count (multi-pass IRV) gives one report per pass, as RCTab writes one file per pass.

Transfers are the engine's own, per candidate who stopped continuing: a batch elimination lists
each eliminated candidate's votes apart, and a winner's surplus where it went.

A figure is written with RCTab's decimal places ("8.0000") where the round's `rctab_scale` says it
sums a ballot that sat on a surplus-transferring winner, as RCTab's BigDecimal arithmetic writes it.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
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


def _text(value: Any, places: int | None = None) -> str:
    """RCTab's text of a figure: as the engine wrote it, or with exactly `places` decimals (a
    surplus count truncates every value to them, so nothing is rounded)."""
    if places is None:
        return str(value)
    units = _number(value) * 10**places
    if units.denominator != 1:
        raise ValueError(f"{value} has more than {places} decimal places")
    return str(Decimal(units.numerator).scaleb(-places))


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
        scale = _Scale(rnd)
        inactive = {rctab: scale.text(rnd["exhausted_by"].get(ours, 0), "exhausted_by", ours)
                    for ours, rctab in INACTIVE.items()}
        if following is None and "residual_surplus" in rnd:  # a count that transfers surpluses
            inactive["finalRoundSurplus"] = scale.text(rnd["exhausted_by"].get(FINAL_ROUND_SURPLUS, 0),
                                                       "exhausted_by", FINAL_ROUND_SURPLUS)
        results.append(
            {
                "inactiveBallots": dict(sorted(inactive.items())),
                "round": rnd["round"],
                "tally": {names[c]: scale.text(v, "tallies", c)
                          for c, v in sorted(rnd["tallies"].items(), key=lambda kv: names[kv[0]])},
                "tallyResults": _tally_results(rnd, names, scale),
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


class _Scale:
    """Which of a round's figures RCTab writes with its decimal places (the round's `rctab_scale`)."""

    def __init__(self, rnd: dict):
        self.scale = rnd.get("rctab_scale") or {"places": None}

    def text(self, value: Any, kind: str, key: str, source: str | None = None) -> str:
        keys = self.scale.get(kind, {})
        scaled = key in (keys.get(source, ()) if source is not None else keys)
        return _text(value, self.scale["places"] if scaled else None)

    def residual(self, value: Any) -> str:
        return _text(value, self.scale["places"])


def _tally_results(rnd: dict, names: dict, scale: _Scale) -> list[dict]:
    """Who was elected or eliminated in the round and where their votes went next, by candidate
    name as RCTab lists them (a transfer only where votes moved, `exhausted` sorted in)."""
    moved = {t["from"]: t for t in rnd.get("transfers", [])}
    out = [
        (names[c], {key: names[c], "transfers": _transfers(moved.get(c), names, scale)})
        for key, candidates in (("elected", rnd["elected"]), ("eliminated", rnd["eliminated"]))
        for c in candidates
    ]
    return [entry for _, entry in sorted(out, key=lambda pair: pair[0])]


def _transfers(transfer: dict | None, names: dict, scale: _Scale) -> dict:
    if transfer is None:
        return {}
    source = transfer["from"]
    out = {names[c]: scale.text(v, "transfers", c, source) for c, v in transfer["to"].items()}
    if _number(transfer["exhausted"]):
        out["exhausted"] = scale.text(transfer["exhausted"], "transfers", "exhausted", source)
    if "residual_surplus" in transfer:
        out["residual surplus"] = scale.residual(transfer["residual_surplus"])
    return dict(sorted(out.items()))


def _number(value) -> Fraction:
    return Fraction(value)
