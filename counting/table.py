"""A readable plain-text table of a result JSON (`ContestResult.to_json()`).

It only lays out what the JSON says: every figure is printed as the result carries it, so the
table and the published JSON can never disagree. Long exact decimals are cut for display and
marked with "…"; the JSON keeps them whole.
"""

from __future__ import annotations

from typing import Any, Sequence

DISPLAY_DECIMALS = 4


def format_table(result: dict) -> str:
    sections = [_heading(result), _participation(result), _candidates(result), _rounds(result), _ties(result)]
    sections.append(_notes(result))
    return "\n\n".join(s for s in sections if s) + "\n"


def _heading(result: dict) -> str:
    seats = result.get("seats", 1)
    lines = [f"Contest {result.get('contest', '?')}: {result.get('method', '?')}, {seats} seat{'s' * (seats != 1)}"]
    lines.append(f"Winners: {', '.join(result.get('winners') or []) or 'none'}")
    if result.get("quota") is not None:
        lines.append(f"Quota: {_show(result['quota'])}")
    return "\n".join(lines)


def _participation(result: dict) -> str:
    totals, shares = result.get("totals", {}), result.get("percentages", {})
    metrics = result.get("extended_metrics", {})
    invalid = totals.get("invalid_explicit", 0) + totals.get("invalid_implicit", 0)
    rows = [
        ["Census", _show(result.get("census")), ""],
        ["Turnout", "", _percent(shares.get("turnout")) if result.get("census") is not None else "-"],
        ["Votes cast", _show(totals.get("total_votes")), ""],
        ["Valid", _show(totals.get("valid")), _percent(shares.get("valid"))],
        ["Blank", _show(totals.get("blank")), _percent(shares.get("blank"))],
        ["Invalid", _show(invalid), _percent(shares.get("invalid"))],
        ["  explicit", _show(totals.get("invalid_explicit")), ""],
        ["  implicit", _show(totals.get("invalid_implicit")), ""],
    ]
    rows += [[f"    {reason}", _show(n), ""] for reason, n in totals.get("invalid_reasons", {}).items()]
    for label, key in [
        ("Ballot records", "total_ballots"),
        ("Expected votes", "expected_votes"),
        ("Votes actually", "votes_actually"),
        ("Under votes", "under_votes"),
        ("Over votes", "over_votes"),
    ]:
        if key in metrics:
            rows.append([label, _show(metrics[key]), ""])
    rows += [[f"Alert: {alert}", _show(n), ""] for alert, n in metrics.get("alerts", {}).items()]
    return "Participation\n" + _grid(rows, right={1, 2})


def _candidates(result: dict) -> str:
    candidates = result.get("candidates") or []
    if not candidates:
        return "Candidates\n  (candidate results not computed for this scope)"
    rows = [["Rank", "Candidate", "Name", "Count", "Share", "Elected"]]
    for c in candidates:
        share = c.get("percentage_votes")
        rows.append(
            [
                _show(c.get("rank")),
                c["id"],
                c.get("name") or "",
                _show(c.get("total_count")),
                _percent(share),
                "*" if c.get("is_winner") else "",
            ]
        )
    return "Candidates\n" + _grid(rows, right={0, 3, 4})


def _rounds(result: dict) -> str:
    """The rounds as a grid, or one grid per pass of a multi-pass count."""
    if result.get("passes"):
        return "\n\n".join(_round_grid(result, p["rounds"], f"Rounds, pass {p['pass']}") for p in result["passes"])
    return _round_grid(result, result.get("rounds") or [], "Rounds")


def _round_grid(result: dict, rounds: list[dict], title: str) -> str:
    if not rounds:
        return ""
    ids = [c["id"] for c in result.get("candidates", [])]
    ids += [c for r in rounds for c in r.get("tallies", {}) if c not in ids]
    rows = [["Candidate"] + [f"R{r.get('round', i + 1)}" for i, r in enumerate(rounds)]]
    for c in ids:
        rows.append([c] + [_show(r["tallies"][c]) if c in r.get("tallies", {}) else "-" for r in rounds])
    rows.append(["Exhausted"] + [_show(r.get("exhausted")) for r in rounds])
    rows.append(["Threshold"] + [_show(r.get("threshold")) for r in rounds])
    rows.append(["Elected"] + [" ".join(r.get("elected", [])) for r in rounds])
    rows.append(["Eliminated"] + [" ".join(r.get("eliminated", [])) for r in rounds])
    return f"{title}\n" + _grid(rows, right=set(range(1, len(rounds) + 1)))


def _ties(result: dict) -> str:
    ties = result.get("ties") or []
    lines = []
    for t in ties:
        where = f"round {t['round']}, " if t.get("round") is not None else ""
        where = f"pass {t['pass']}, {where}" if t.get("pass") is not None else where
        chosen = ", ".join(t.get("chosen", []))
        lines.append(f"  {where}{t.get('purpose')}: {', '.join(t.get('candidates', []))} -> {chosen} ({t.get('rule')})")
    return "Ties\n" + "\n".join(lines) if lines else ""


def _notes(result: dict) -> str:
    notes = result.get("notes") or []
    return "Notes\n" + "\n".join(f"  - {n}" for n in notes) if notes else ""


def _show(value: Any) -> str:
    """A figure as the JSON carries it; a long exact decimal is cut for display and marked."""
    if value is None:
        return "-"
    text = str(value)
    whole, dot, decimals = text.partition(".")
    if dot and len(decimals) > DISPLAY_DECIMALS and decimals.isdigit():
        return f"{whole}.{decimals[:DISPLAY_DECIMALS]}…"
    return text


def _percent(value: Any) -> str:
    return "" if value is None else f"{value}%"


def _grid(rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)
