"""A readable plain-text table of a result JSON (`ContestResult.to_json()`), laid out by `rich`.

It only lays out what the JSON says: every figure is printed whole, as the result carries it (an
80-digit decimal included), so the table and the published JSON can never disagree. Names are shown
as `printable` makes them: a control character in a stored name is written as its escape, never
sent to the terminal. A candidate who left the count says when, and with what count (the round's
own figure), and why when an exclusion group excluded them.

The text fits `width` columns (the caller's terminal; this module reads none): names and labels
wrap, a number never does, nor is it cut; a round grid too wide is shown as blocks of rounds one
under the other, each repeating the candidate column. Only a single figure wider than `width`
makes a line longer.

`format_area_table` shows an area's (or subtree's) figures: an area elects nobody, so it says who
leads there beside the contest's winners, and for a round-based contest shows the contest's rounds
followed with the area's ballots (`followed_rounds`, counting/area_rounds.py).
"""

from __future__ import annotations

import io
import re
import textwrap
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

DEFAULT_WIDTH = 100  # columns, when the caller does not say
MIN_WIDTH = 20  # a narrower width is taken as this one
UNBOUNDED = 1_000_000  # a width to measure what a table needs
FIGURE = re.compile(r"[-+]?\d[\d.,/]*")  # a figure within text, kept on one line
GAP = 3  # columns between two of a table's columns: a space of padding, the rule's space, a space of padding
LABEL_MIN = 12  # the candidate column of a round grid may wrap names to width // 3, never below this
TEXT_WIDTH = 14  # text wraps at spaces; a word up to this long is never folded while room is left

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


def format_table(result: dict, width: int = DEFAULT_WIDTH) -> str:
    """The result as text at most `width` columns wide (see the module's note)."""
    result, width = _printable_json(result), max(width, MIN_WIDTH)
    return _lay_out(width, _heading(result), _participation(result, width), _candidates(result, width),
                    *_rounds(result, width), _ties(result), _notes(result))


def format_area_table(result: dict, contest_winners: list[str], leaders: list[str] | None,
                      width: int = DEFAULT_WIDTH, leaders_note: str = "") -> str:
    """An area's (or subtree's) result JSON as text: the contest's winners, who leads here
    (`leaders`: None when not computed; `leaders_note` says from what, when not from the area's
    candidate results), the area's participation and candidates, and its `followed_rounds`. The
    area's own decisions (its winners, ties, notes, rounds of its own) are not shown: the contest
    decides."""
    result, width = _printable_json(result), max(width, MIN_WIDTH)
    seats = result.get("seats", 1)
    lines = [f"Contest {result.get('contest', '?')}: {result.get('method', '?')}, {seats} seat{'s' * (seats != 1)}",
             f"Contest winners: {', '.join(printable(w) for w in contest_winners) or 'none'}"]
    if leaders is None:
        lines.append("Leading here: not computed for this area")
    else:
        shown = ", ".join(printable(c) for c in leaders) or "none (no votes here)"
        lines.append(f"Leading here: {shown}{f' ({leaders_note})' if leaders and leaders_note else ''}")
    followed = result.get("followed_rounds") or []
    sections: list = ["\n".join(lines), _participation(result, width), _area_candidates(result, bool(followed), width)]
    if followed:
        sections.append("Rounds here: the contest's rounds, counted with this area's ballots; who is elected or "
                        "eliminated, and the threshold, are the contest's")
        sections += _round_grid(result, followed, "Rounds here", width, followed=True)
    return _lay_out(width, *sections)


def _lay_out(width: int, *sections) -> str:
    """The sections (tables, or text), a blank line after each; text wrapped to `width`."""
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False, highlight=False,
                      markup=False, emoji=False)
    for section in sections:
        if isinstance(section, Table):
            # as wide as it needs when its figures leave no room (one wider than `width`): never cut
            needed = Measurement.get(console, console.options.update_width(UNBOUNDED), section).minimum
            console.width = max(width, needed)  # print's own width may only narrow the console's
            console.print(section, crop=False)
            console.width = width
        elif section is not None:
            console.print(_wrapped(section, width), crop=False, no_wrap=True, overflow="ignore")
        if section is not None:
            console.print()
    text = console.file.getvalue()
    return "\n".join(line.rstrip() for line in text.rstrip("\n").splitlines()) + "\n"


def _wrapped(text: str, width: int) -> str:
    """`text`'s lines wrapped at spaces to `width`, each continued under its indent and two more
    spaces; a word longer than a line (a long figure) stays whole on a line of its own."""
    out = []
    for line in text.split("\n"):
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out.append(textwrap.fill(line, width, subsequent_indent=indent + "  ", break_long_words=False,
                                 break_on_hyphens=False) if len(line) > width else line)
    return "\n".join(out)


def _table(title: str, *columns: tuple[str, str]) -> Table:
    """A table whose right-justified columns hold figures (never wrapped nor cut) and whose
    left-justified columns hold text (wrapped, long words folded), laid out by `_filled`."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for name, justify in columns:
        if justify == "right":
            table.add_column(name, justify=justify, no_wrap=True)
        else:
            table.add_column(name, justify=justify, overflow="fold")
    return table


def _filled(table: Table, rows: list[list[str]], width: int) -> Table:
    """`table` with `rows`, its columns' widths fixed to fit `width`: a figure column as wide as its
    widest figure; the widest text columns narrowed, one column at a time, down to their longest
    figure ("eliminated in round 4 with 136.39..."), header word or word (up to `TEXT_WIDTH`),
    wrapping their text and folding only longer words. A table whose figures leave no room stays
    wider than `width`, never cut."""
    for row in rows:
        table.add_row(*row)
    headers = [str(c.header) if table.show_header else "" for c in table.columns]
    natural = [max([cell_len(row[i]) for row in rows] + [cell_len(headers[i])]) for i in range(len(table.columns))]
    floor = [
        natural[i] if column.no_wrap else
        max([cell_len(w) for row in rows for w in FIGURE.findall(row[i])]
            + [_longest_word(headers[i]), min(TEXT_WIDTH, max((_longest_word(row[i]) for row in rows), default=0))])
        for i, column in enumerate(table.columns)
    ]
    widths = list(natural)
    room = width - GAP * (len(widths) - 1)
    while sum(widths) > room:
        widest = max((i for i in range(len(widths)) if widths[i] > floor[i]), key=lambda i: widths[i], default=None)
        if widest is None:
            break
        widths[widest] -= 1
    for column, w in zip(table.columns, widths, strict=True):
        column.width = w
    return table


def _heading(result: dict) -> str:
    seats = result.get("seats", 1)
    lines = [f"Contest {result.get('contest', '?')}: {result.get('method', '?')}, {seats} seat{'s' * (seats != 1)}"]
    lines.append(f"Winners: {', '.join(result.get('winners') or []) or 'none'}")
    if result.get("quota") is not None:
        lines.append(f"Quota: {_show(result['quota'])}")
    return "\n".join(lines)


def _participation(result: dict, width: int) -> Table:
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
    return _filled(table, rows, width)


def _candidates(result: dict, width: int) -> Table | str:
    candidates = result.get("candidates") or []
    if not candidates:
        return "Candidates\n  (candidate results not computed for this scope)"
    outcomes = _outcomes(result)
    table = _table("Candidates", ("Rank", "right"), ("Candidate", "left"), ("Name", "left"), ("Count", "right"),
                   ("Share", "right"), ("Elected", "left"), ("Outcome", "left"))
    return _filled(table, [[_show(c.get("rank")), c["id"], c.get("name") or "", _show(c.get("total_count")),
                            _percent(c.get("percentage_votes")), "*" if c.get("is_winner") else "",
                            outcomes.get(c["id"], "")] for c in candidates], width)


def _area_candidates(result: dict, followed: bool, width: int) -> Table | str:
    """The area's candidates without the area's own decisions: who leads here is `format_area_table`'s."""
    candidates = result.get("candidates") or []
    if not candidates:
        why = "not counted for this area alone: the rounds below follow the contest's count here" if followed \
            else "candidate results not computed for this area"
        return f"Candidates here\n  ({why})"
    table = _table("Candidates here", ("Rank here", "right"), ("Candidate", "left"), ("Name", "left"),
                   ("Count", "right"), ("Share", "right"))
    return _filled(table, [[_show(c.get("rank")), c["id"], c.get("name") or "", _show(c.get("total_count")),
                            _percent(c.get("percentage_votes"))]
                           for c in sorted(candidates, key=lambda c: c.get("rank") or 0)], width)


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
        # a stage of a Scottish count shows the votes after its transfer: who it excluded had them before
        held = rounds[i - 1].get("tallies", {}) if r.get("stage") == "exclusion" and i else tallies
        for c in r.get("eliminated", []):
            out[c] = f"eliminated in round {number} with {_show(held.get(c))}"
        for c in r.get("excluded", []):
            out[c] = (f"excluded in round {number} with {_show(tallies.get(c))}: its exclusion group "
                      "already has as many elected members as it may")
    return out


def _rounds(result: dict, width: int) -> list[Table]:
    """The rounds as a grid, or one grid per pass of a multi-pass count."""
    if result.get("passes"):
        return [table for p in result["passes"]
                for table in _round_grid(result, p["rounds"], f"Rounds, pass {p['pass']}", width)]
    return _round_grid(result, result.get("rounds") or [], "Rounds", width)


def _round_grid(result: dict, rounds: list[dict], title: str, width: int, followed: bool = False) -> list[Table]:
    """A line per candidate and a column per round, as blocks of consecutive rounds that each fit
    `width` (at least one round a block), every block with the candidate column."""
    if not rounds:
        return []
    ids = list(dict.fromkeys([c["id"] for c in result.get("candidates", [])]
                             + [c for r in rounds for c in r.get("tallies", {})]))
    figures = [(c, [_show(r["tallies"][c]) if c in r.get("tallies", {}) else "-" for r in rounds]) for c in ids]
    figures.append(("Exhausted", [_show(r.get("exhausted")) for r in rounds]))
    decided = " (the contest's)" if followed else ""
    figures.append((f"Threshold{decided}", [_show(r.get("threshold")) for r in rounds]))
    names = [(f"Elected{decided}", [_names(r.get("elected")) for r in rounds]),
             (f"Eliminated{decided}", [_names(r.get("eliminated")) for r in rounds])]
    if any(r.get("excluded") for r in rounds):
        names.append((f"Excluded (group full){decided}", [_names(r.get("excluded")) for r in rounds]))
    headers = [f"R{r.get('round', i + 1)}" for i, r in enumerate(rounds)]
    columns = [
        max([cell_len(h)] + [cell_len(cells[i]) for _, cells in figures]
            + [min(TEXT_WIDTH, _longest_word(cells[i])) for _, cells in names])
        for i, h in enumerate(headers)
    ]
    labels = [label for label, _ in figures + names]
    label_width = min(max(map(cell_len, labels)), max(LABEL_MIN, width // 3))
    blocks: list[list[int]] = [[]]
    used = label_width
    for i, column in enumerate(columns):
        if blocks[-1] and used + GAP + column > width:
            blocks.append([])
            used = label_width
        blocks[-1].append(i)
        used += GAP + column
    tables = []
    for block in blocks:
        shown = title if len(blocks) == 1 else f"{title} ({headers[block[0]]}-{headers[block[-1]]} of {len(rounds)})"
        table = Table(title=shown, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        table.add_column("Candidate", width=label_width, overflow="fold")
        for i in block:  # a fixed width, as wide as its widest figure: names fold within it, figures never
            table.add_column(headers[i], justify="right", width=columns[i], overflow="fold")
        for label, cells in figures:
            table.add_row(label, *(cells[i] for i in block))
        for label, cells in names:
            table.add_row(label, *(Text(cells[i], justify="left") for i in block))
        tables.append(table)
    return tables


def _names(ids: list[str] | None) -> str:
    return "; ".join(ids or [])


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


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
    """A figure whole, as the JSON carries it."""
    return "-" if value is None else str(value)


def _percent(value: Any) -> str:
    return "" if value is None else f"{value}%"
