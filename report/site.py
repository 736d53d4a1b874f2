"""`tally report` and the API's /elections/{key}/report/: the whole site as {file name: bytes}.

Every page is self-contained (its style inline, its charts inline SVG, no script), so the folder
can be posted as it is, opened from disk, or printed."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from .charts import Bar, bars
from .figures import count_text, exact
from .rounds import round_table
from .sheets import contest_csv, workbook
from .views import ContestView, candidate_rows, contest_view, entry_of, leaders, participation, slug

_ENV = Environment(
    loader=PackageLoader("report", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["count"] = count_text

INDEX = "index.html"
WORKBOOK = "results.xlsx"


@dataclass
class AreaResult:
    contest: str
    contest_page: str
    scope: str  # "This area" or "This area and the areas within it"
    seats: int
    winners: list[str]
    rows: list  # CandidateRow, with `elected` meaning leading here
    participation: list
    chart: object
    table_id: str
    rounds: object = None  # rounds.RoundTable: the contest's rounds followed with this area's ballots


def build(doc: dict) -> dict[str, bytes]:
    """Every page of the site, and its downloads (a summary CSV per contest, one workbook)."""
    taken: set[str] = {"index", "results"}
    contests = contest_views(doc, taken)
    area_pages = {a["id"]: slug("area-" + a["id"], taken) for a in doc["areas"]}
    files: dict[str, bytes] = {}
    common = {"election": doc["election"], "areas": _tree(doc["areas"]), "area_pages": area_pages}
    files[INDEX] = _render("index.html", **common, doc=doc, contests=contests, workbook=WORKBOOK)
    for view in contests:
        files[f"{view.slug}.html"] = _render("contest.html", **common, contest=view, page_areas=_with_results(doc, view))
        files[f"{view.slug}.csv"] = contest_csv(doc, view)
    for area in doc["areas"]:
        page = area_pages[area["id"]]
        files[f"{page}.html"] = _render("area.html", **common, area=area, trail=_trail(doc["areas"], area["id"]),
                                        children=[a for a in doc["areas"] if a["parent"] == area["id"]],
                                        results=_area_results(doc, contests, area["id"]))
    files[WORKBOOK] = workbook(doc, contests)
    return files


def contest_views(doc: dict, taken: set[str] | None = None) -> list[ContestView]:
    """Every published contest, each with a file name of its own."""
    taken = set() if taken is None else taken
    definitions = {c["id"]: c for c in doc["contests"]}
    several = len(doc["results"]["tallies"]) > 1
    contests: list[ContestView] = []
    for tally in doc["results"]["tallies"]:
        for entry in tally["contests"]:
            name = f"{tally['voting_period']}-{entry['contest']}" if several else entry["contest"]
            contests.append(contest_view(slug(name, taken), tally["voting_period"], definitions[entry["contest"]], entry))
    return contests


def _render(template: str, **context) -> bytes:
    return _ENV.get_template(template).render(**context).encode("utf-8")


def _tree(areas: list[dict]) -> list[tuple[dict, int]]:
    """Areas depth first, each with its depth, for an indented list."""
    children: dict = {}
    for a in areas:
        children.setdefault(a["parent"], []).append(a)
    out: list[tuple[dict, int]] = []

    def walk(parent, depth):
        for a in children.get(parent, []):
            out.append((a, depth))
            walk(a["id"], depth + 1)

    walk(None, 0)
    return out


def _trail(areas: list[dict], key: str) -> list[dict]:
    by_key = {a["id"]: a for a in areas}
    trail = []
    while key is not None:
        trail.append(by_key[key])
        key = by_key[key]["parent"]
    return list(reversed(trail))


def _with_results(doc: dict, view: ContestView) -> set[str]:
    entry = entry_of(doc, view)
    return set(entry.get("areas", {})) | set(entry.get("subtrees", {}))


def _area_results(doc: dict, contests: list[ContestView], key: str) -> list[AreaResult]:
    """Each contest's figures in this area and in its subtree: who leads here, apart from the
    contest's winners (an area elects nobody)."""
    out = []
    for view in contests:
        entry = entry_of(doc, view)
        for scope, results in (("This area", entry.get("areas", {})),
                               ("This area and the areas within it", entry.get("subtrees", {}))):
            if key not in results:
                continue
            result = results[key]
            names = {c["id"]: c.get("name") or c["id"] for c in result.get("candidates", [])}
            rows = candidate_rows(result, names)
            leading = leaders(result, view.seats).ids
            for row, c in zip(rows, sorted(result.get("candidates", []), key=lambda c: c["rank"]), strict=True):
                row.elected = c["id"] in leading
            chart_id = f"{view.slug}-{'own' if scope == 'This area' else 'subtree'}"
            items = [Bar(r.name, exact(c["total_count"]), r.elected) for r, c in
                     zip(rows, sorted(result.get("candidates", []), key=lambda c: c["rank"]), strict=True)]
            followed = result.get("followed_rounds")
            all_names = {**{c["id"]: c.get("name") or c["id"] for c in entry["result"].get("candidates", [])}, **names}
            out.append(AreaResult(view.name, view.slug + ".html", scope, view.seats, view.winners, rows,
                                  participation(result), bars(chart_id, f"{view.name}, {scope.lower()}", items,
                                                              table_id=chart_id + "-table"), chart_id + "-table",
                                  round_table(result, followed, all_names) if followed else None))
    return out

