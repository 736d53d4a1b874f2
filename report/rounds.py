"""A round-based result read as people read a count: RCTab's summary table (votes, share and
transfer per candidate and round), and one sentence per round saying who was elected or
eliminated and where their votes went."""

from __future__ import annotations

from dataclasses import dataclass, field

from .figures import count_text, exact, share_text, signed_text

EXHAUSTED = "Inactive ballots"


@dataclass
class Cell:
    votes: str  # "" where the candidate no longer counts
    share: str
    transfer: str


@dataclass
class Line:
    candidate: str  # id
    name: str
    cells: list[Cell]


@dataclass
class RoundTable:
    """RCTab's summary layout: a line per candidate, three columns per round."""

    rounds: list[int]
    lines: list[Line]
    exhausted: list[Cell]
    thresholds: list[str]
    elected: list[str]  # per round, names joined
    eliminated: list[str]
    sentences: list[str] = field(default_factory=list)


def _active(rnd: dict) -> object:
    return sum((exact(v) for v in rnd["tallies"].values()), 0)


def round_table(result: dict, rounds: list[dict], names: dict[str, str]) -> RoundTable:
    """The summary of `rounds` (a result's, or one pass's): candidates in the order of the first
    round's votes, most first, as RCTab lists them."""
    first = rounds[0]["tallies"]
    order = sorted(names, key=lambda c: (-exact(first.get(c, 0)), names[c]))
    order = [c for c in order if any(c in r["tallies"] for r in rounds)]
    lines = []
    for c in order:
        cells = []
        for i, rnd in enumerate(rounds):
            if c not in rnd["tallies"]:
                cells.append(Cell("", "", ""))
                continue
            votes = exact(rnd["tallies"][c])
            following = rounds[i + 1]["tallies"].get(c, 0) if i + 1 < len(rounds) else votes
            cells.append(Cell(count_text(votes), share_text(votes, _active(rnd)), signed_text(exact(following) - votes)))
        lines.append(Line(c, names[c], cells))
    exhausted = []
    for i, rnd in enumerate(rounds):
        following = rounds[i + 1]["exhausted"] if i + 1 < len(rounds) else rnd["exhausted"]
        exhausted.append(Cell(count_text(rnd["exhausted"]), "", signed_text(exact(following) - exact(rnd["exhausted"]))))
    return RoundTable(
        rounds=[r["round"] for r in rounds],
        lines=lines,
        exhausted=exhausted,
        thresholds=[count_text(r["threshold"]) if r.get("threshold") is not None else "" for r in rounds],
        elected=["; ".join(names[c] for c in r["elected"]) for r in rounds],
        eliminated=["; ".join(names[c] for c in r["eliminated"]) for r in rounds],
        sentences=[sentence(r, names) for r in rounds],
    )


def _moves(transfer: dict, names: dict[str, str]) -> str:
    parts = [
        f"{count_text(v)} to {names[c]}"
        for c, v in sorted(transfer["to"].items(), key=lambda kv: (-exact(kv[1]), names[kv[0]]))
    ]
    if exact(transfer["exhausted"]):
        parts.append(f"{count_text(transfer['exhausted'])} become inactive")
    if exact(transfer.get("residual_surplus", 0)):
        parts.append(f"{count_text(transfer['residual_surplus'])} stay as residual surplus")
    return ", ".join(parts)


def _moved(transfer: dict) -> object:
    amounts = [exact(v) for v in transfer["to"].values()]
    return sum(amounts, 0) + exact(transfer["exhausted"]) + exact(transfer.get("residual_surplus", 0))


def _clause(candidate: str, what: str, rnd: dict, moved: dict, names: dict[str, str]) -> str:
    text = f"{names[candidate]} is {what}"
    if what == "elected":
        text += f" with {count_text(rnd['tallies'].get(candidate, 0))} votes"
    transfer = moved.get(candidate)
    if transfer is None:
        return text
    total = _moved(transfer)
    if not total:
        return text if what == "elected" else text + "; no votes move"
    moving = "its surplus of {} votes moves" if what == "elected" else "{} votes move"
    return f"{text}; {moving.format(count_text(total))}: {_moves(transfer, names)}"


def sentence(rnd: dict, names: dict[str, str]) -> str:
    """"Round 3: X is eliminated; 1,234 votes move: 800 to Y, 400 to Z, 34 become inactive."."""
    moved = {t["from"]: t for t in rnd.get("transfers", [])}
    clauses = [_clause(c, "elected", rnd, moved, names) for c in rnd["elected"]]
    clauses += [_clause(c, "eliminated", rnd, moved, names) for c in rnd["eliminated"]]
    ties = rnd.get("tie_breaks", [])
    if ties:
        tied = ", ".join(names[c] for c in ties[0]["candidates"])
        clauses.append(f"the tie between {tied} was decided by {ties[0]['rule']}")
    if not clauses:
        clauses = ["nobody is elected or eliminated"]
    return f"Round {rnd['round']}: " + ". ".join(clauses) + "."
