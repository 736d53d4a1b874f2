"""A readable plain-text table of a result JSON (`ContestResult.to_json()`), laid out by `rich`.

It only lays out what the JSON says: every figure is printed as the result carries it, so the
table and the published JSON can never disagree. Names are shown as `printable` makes them: a
control character in a stored name is written as its escape, never sent to the terminal. Long exact decimals are cut for display and
marked with "…"; the JSON keeps them whole. A candidate who left the count says when, and with
what count (the round's own figure), and why when an exclusion group excluded them.
"""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

DISPLAY_DECIMALS = 4
WIDTH = 10_000  # never wrap: a round grid may be wide, a terminal or a pager scrolls

# Participation figures beyond the totals, with names that say what they count.
MARK_FIGURES = [
    ("Ballot records", "total_ballots"),
    ("Marks allowed (ballots x most marks a ballot may have)", "expected_votes"),
    ("Marks made on valid ballots", "votes_actually"),
    ("Marks left unused", "under_votes"),
    ("Marks over the limit", "over_votes"),
]
ALERTS = {
    "under-vote": "Valid ballots with unused marks (counted)",
    "rank-gap": "Valid ballots with a gap in their ranks (counted)",
}


# Characters a name could use on a terminal: C0 and C1 controls (ESC, CR, LF, DEL...), line and
# paragraph separators, and the bidirectional embeddings, overrides and isolates, which reorder text.
_UNSHOWN = {*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def printable(text: str) -> str:
    """`text` as a terminal may show it: each character of `_UNSHOWN` written as its Python escape
    (`\\x1b`, `\\n`, `\\u202e`), so that a stored name can neither colour the screen, move the cursor
    nor forge a line of a table. Stored and published, names stay verbatim."""
    if not any(ord(ch) in _UNSHOWN for ch in text):
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if ord(ch) in _UNSHOWN else ch for ch in text)


def _printable_json(value: Any) -> Any:
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {_printable_json(k): _printable_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_json(v) for v in value]
    return value


def format_table(result: dict) -> str:
    result = _printable_json(result)
    console = Console(file=io.StringIO(), width=WIDTH, color_system=None, force_terminal=False, highlight=False)
    for section in (_heading(result), _participation(result), _candidates(result), *_rounds(result), _ties(result),
                    _notes(result)):
        if section is not None:
            console.print(section)
            console.print()
    text = console.file.getvalue()
    return "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines()) + "\n"


def _table(title: str, *columns: tuple[str, str]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify, no_wrap=True)
    return table


def _heading(result: dict) -> str:
    seats = result.get("seats", 1)
    lines = [f"Contest {result.get('contest', '?')}: {result.get('method', '?')}, {seats} seat{'s' * (seats != 1)}"]
    lines.append(f"Winners: {', '.join(result.get('winners') or []) or 'none'}")
    if result.get("quota") is not None:
        lines.append(f"Quota: {_show(result['quota'])}")
    return "\n".join(lines)


def _participation(result: dict) -> Table:
    totals, shares = result.get("totals", {}), result.get("percentages", {})
    metrics = result.get("extended_metrics", {})
    invalid = totals.get("invalid_explicit", 0) + totals.get("invalid_implicit", 0)
    table = _table("Participation", ("", "left"), ("count", "right"), ("share", "right"))
    table.show_header = False
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
    rows += [[label, _show(metrics[key]), ""] for label, key in MARK_FIGURES if key in metrics]
    rows += [[ALERTS.get(alert, f"Valid ballots flagged {alert} (counted)"), _show(n), ""]
             for alert, n in metrics.get("alerts", {}).items()]
    for row in rows:
        table.add_row(*row)
    return table


def _candidates(result: dict) -> Table | str:
    candidates = result.get("candidates") or []
    if not candidates:
        return "Candidates\n  (candidate results not computed for this scope)"
    outcomes = _outcomes(result)
    table = _table("Candidates", ("Rank", "right"), ("Candidate", "left"), ("Name", "left"), ("Count", "right"),
                   ("Share", "right"), ("Elected", "left"), ("Outcome", "left"))
    for c in candidates:
        table.add_row(_show(c.get("rank")), c["id"], c.get("name") or "", _show(c.get("total_count")),
                      _percent(c.get("percentage_votes")), "*" if c.get("is_winner") else "", outcomes.get(c["id"], ""))
    return table


def _outcomes(result: dict) -> dict[str, str]:
    """When each candidate was elected or left the count, from the rounds (the last pass of a
    multi-pass count), with the count they had in the round they left."""
    rounds = result["passes"][-1]["rounds"] if result.get("passes") else result.get("rounds") or []
    out = {}
    for i, r in enumerate(rounds):
        number = r.get("round", i + 1)
        tallies = r.get("tallies", {})
        for c in r.get("elected", []):
            out[c] = f"elected in round {number}"
        for c in r.get("eliminated", []):
            out[c] = f"eliminated in round {number} with {_show(tallies.get(c))}"
        for c in r.get("excluded", []):
            out[c] = (f"excluded in round {number} with {_show(tallies.get(c))}: its exclusion group "
                      "already has as many elected members as it may")
    return out


def _rounds(result: dict) -> list[Table]:
    """The rounds as a grid, or one grid per pass of a multi-pass count."""
    if result.get("passes"):
        return [_round_grid(result, p["rounds"], f"Rounds, pass {p['pass']}") for p in result["passes"]]
    return [_round_grid(result, result.get("rounds") or [], "Rounds")]


def _round_grid(result: dict, rounds: list[dict], title: str) -> Table | None:
    if not rounds:
        return None
    ids = [c["id"] for c in result.get("candidates", [])]
    ids += [c for r in rounds for c in r.get("tallies", {}) if c not in ids]
    table = _table(title, ("Candidate", "left"), *((f"R{r.get('round', i + 1)}", "right") for i, r in enumerate(rounds)))
    for c in ids:
        table.add_row(c, *(_show(r["tallies"][c]) if c in r.get("tallies", {}) else "-" for r in rounds))
    table.add_row("Exhausted", *(_show(r.get("exhausted")) for r in rounds))
    table.add_row("Threshold", *(_show(r.get("threshold")) for r in rounds))
    table.add_row("Elected", *(" ".join(r.get("elected", [])) for r in rounds))
    table.add_row("Eliminated", *(" ".join(r.get("eliminated", [])) for r in rounds))
    if any(r.get("excluded") for r in rounds):
        table.add_row("Excluded (group full)", *(" ".join(r.get("excluded", [])) for r in rounds))
    return table


def _ties(result: dict) -> str | None:
    lines = []
    for t in result.get("ties") or []:
        where = f"round {t['round']}, " if t.get("round") is not None else ""
        where = f"pass {t['pass']}, {where}" if t.get("pass") is not None else where
        chosen = ", ".join(t.get("chosen", []))
        lines.append(f"  {where}{t.get('purpose')}: {', '.join(t.get('candidates', []))} -> {chosen} ({t.get('rule')})")
    return "Ties\n" + "\n".join(lines) if lines else None


def _notes(result: dict) -> str | None:
    notes = result.get("notes") or []
    return "Notes\n" + "\n".join(f"  - {n}" for n in notes) if notes else None


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
