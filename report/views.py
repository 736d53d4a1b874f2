"""The pages' content as plain objects, so the templates only lay it out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup

from .charts import Bar, bars, flow
from .figures import count_text, exact, share_text
from .rounds import RoundTable, round_table


@dataclass
class RoundsView:
    title: str
    table_id: str
    table: RoundTable
    charts: list[tuple[int, Markup]]  # (round, bar chart)
    flow: Markup | None


@dataclass
class CandidateRow:
    rank: int
    name: str
    votes: str
    share: str
    elected: bool


@dataclass
class ContestView:
    slug: str
    key: str
    name: str
    period: str
    method: str
    seats: int
    winners: list[str]
    participation: list[tuple[str, str, str]]  # (what, count, share)
    candidates: list[CandidateRow]
    totals_chart: Markup
    rounds: list[RoundsView] = field(default_factory=list)
    keep_factors: list[tuple[str, list[str]]] = field(default_factory=list)  # (candidate, per round)
    keep_rounds: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quota: str | None = None


def entry_of(doc: dict, view: ContestView) -> dict:
    """The published entry (result, areas, subtrees) a contest view was made from."""
    for tally in doc["results"]["tallies"]:
        if tally["voting_period"] == view.period:
            for entry in tally["contests"]:
                if entry["contest"] == view.key:
                    return entry
    raise KeyError(view.key)


def slug(text: str, taken: set[str]) -> str:
    """A file name for a key: letters, digits, '-' and '_' kept, the rest '-'; made unique."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "item"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name.lower())
    return name


def participation(result: dict) -> list[tuple[str, str, str]]:
    """Ballots cast, valid, blank and invalid, with turnout against the census when there is one."""
    totals = result.get("totals", {})
    cast = totals.get("total_votes", 0)
    invalid = exact(totals.get("invalid_explicit", 0)) + exact(totals.get("invalid_implicit", 0))
    rows = [
        ("Ballots cast", count_text(cast), ""),
        ("Valid", count_text(totals.get("valid", 0)), share_text(totals.get("valid", 0), cast)),
        ("Blank", count_text(totals.get("blank", 0)), share_text(totals.get("blank", 0), cast)),
        ("Invalid", count_text(invalid), share_text(invalid, cast)),
    ]
    if result.get("census"):
        rows.append(("Turnout (ballots cast / census " + count_text(result["census"]) + ")", count_text(cast),
                     share_text(cast, result["census"])))
    return rows


@dataclass
class Leaders:
    """Who leads in an area: `ids`, most votes first; `basis` says from which figures (None: not
    computed, the area has neither candidate results nor followed rounds)."""

    ids: list[str]
    basis: str | None


CANDIDATE_RESULTS = "the area's candidate results"
LAST_FOLLOWED_ROUND = "the contest's last round, with this area's ballots"


def leaders(result: dict, seats: int) -> Leaders:
    """An area elects nobody: the `seats` candidates with the most votes here lead it (all tied at
    the last place included; nobody without a vote). From the area's candidate results, or where it
    has none, from the last of the contest's rounds followed with its ballots (`followed_rounds`)."""
    if result.get("candidates"):
        votes, basis = {c["id"]: exact(c["total_count"]) for c in result["candidates"]}, CANDIDATE_RESULTS
    elif result.get("followed_rounds"):
        votes = {c: exact(v) for c, v in result["followed_rounds"][-1]["tallies"].items()}
        basis = LAST_FOLLOWED_ROUND
    else:
        return Leaders([], None)
    ranked = sorted(votes, key=lambda c: (-votes[c], c))
    if not ranked or seats <= 0:
        return Leaders([], basis)
    cut = votes[ranked[min(seats, len(ranked)) - 1]]
    return Leaders([c for c in ranked if votes[c] >= cut and votes[c] > 0], basis)


def candidate_rows(result: dict, names: dict[str, str]) -> list[CandidateRow]:
    return [
        CandidateRow(c["rank"], names.get(c["id"], c.get("name") or c["id"]), count_text(c["total_count"]),
                     f"{c['percentage_votes']}%" if c.get("percentage_votes") is not None else "", bool(c["is_winner"]))
        for c in sorted(result.get("candidates", []), key=lambda c: c["rank"])
    ]


def totals_chart(chart_id: str, title: str, result: dict, names: dict[str, str], table_id: str) -> Markup:
    items = [Bar(names.get(c["id"], c["id"]), exact(c["total_count"]), bool(c["is_winner"]))
             for c in sorted(result.get("candidates", []), key=lambda c: c["rank"])]
    return bars(chart_id, title, items, table_id=table_id)


def rounds_view(prefix: str, title: str, rounds: list[dict], result: dict, names: dict[str, str]) -> RoundsView:
    table_id = f"{prefix}-rounds"
    table = round_table(result, rounds, names)
    winners = set(result.get("winners", []))
    charts = []
    for rnd in rounds:
        items = [Bar(names[c], exact(v), c in winners and c in rnd["elected"]) for c, v in
                 sorted(rnd["tallies"].items(), key=lambda kv: (-exact(kv[1]), names[kv[0]]))]
        charts.append((rnd["round"], bars(f"{prefix}-round-{rnd['round']}", f"{title}: round {rnd['round']} votes",
                                          items, rnd.get("threshold"), table_id)))
    sankey = flow(f"{prefix}-flow", f"{title}: how votes moved between rounds", rounds, names, table_id) \
        if len(rounds) > 1 else None
    return RoundsView(title, table_id, table, charts, sankey)


def contest_view(slug_name: str, period: str, definition: dict, entry: dict) -> ContestView:
    result = entry["result"]
    names = {c["id"]: c["name"] or c["id"] for c in definition["candidates"]}
    for c in result.get("candidates", []):
        names.setdefault(c["id"], c.get("name") or c["id"])
    view = ContestView(
        slug=slug_name, key=entry["contest"], name=definition["name"] or entry["contest"], period=period,
        method=result["method"], seats=result.get("seats", definition["seats"]),
        winners=[names[w] for w in result.get("winners", [])],
        participation=participation(result), candidates=candidate_rows(result, names),
        totals_chart=totals_chart(f"{slug_name}-totals", f"{definition['name']}: votes per candidate", result, names,
                                  f"{slug_name}-candidates"),
        notes=list(result.get("notes", [])),
        quota=count_text(result["quota"]) if result.get("quota") is not None else None,
    )
    passes = result.get("passes") or []
    for p in passes:
        view.rounds.append(rounds_view(f"{slug_name}-pass-{p['pass']}", f"Pass {p['pass']}", p["rounds"], result, names))
    if result.get("rounds") and not passes:
        view.rounds.append(rounds_view(slug_name, view.name, result["rounds"], result, names))
    if any("keep_factors" in r for r in result.get("rounds") or []):
        view.keep_rounds = [r["round"] for r in result["rounds"]]
        view.keep_factors = [
            (names[c], [_keep(r, c) for r in result["rounds"]]) for c in names if c in result["rounds"][0]["keep_factors"]
        ]
    return view


def _keep(rnd: dict, candidate: str) -> str:
    value = rnd.get("keep_factors", {}).get(candidate)
    return "" if value is None else count_text(value).replace(",", "")
