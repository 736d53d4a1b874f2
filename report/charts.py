"""Charts as inline SVG, drawn on the server: readable without JavaScript, printable, each with a
title and description for screen readers (and a table beside it on the page).

Hand-drawn rather than from a charting library: the ones that make SVG on the server (matplotlib,
pygal) draw no flow diagram and give no control over titles and roles; the ones with a Sankey
(plotly, vega) need JavaScript in the page. Bars and bands are rectangles and paths."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

from .figures import count_text, exact, ratio

# Okabe and Ito's palette, told apart with any colour vision; text never relies on colour alone.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#5D5D5D", "#8B4513", "#6A3D9A", "#1B9E77")
INACTIVE_COLOUR = "#9A9A9A"
LABEL_CHARS = 28


@dataclass(frozen=True)
class Bar:
    label: str
    value: object  # an exact count
    marked: bool = False  # elected (said in the label too)


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "\u2026"


def bars(chart_id: str, title: str, items: list[Bar], threshold: object = None, table_id: str = "") -> Markup:
    """A horizontal bar per item, longest scale = the largest value (or the threshold)."""
    row, label_w, bar_w = 26, 230, 330
    height = row * len(items) + 40
    top = max([exact(i.value) for i in items] + ([exact(threshold)] if threshold is not None else []) + [1])
    out = [
        f'<svg id="{chart_id}" class="chart" role="img" viewBox="0 0 {label_w + bar_w + 140} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-table="{escape(table_id)}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(_describe(items, threshold))}</desc>',
    ]
    for n, item in enumerate(items):
        y = 10 + n * row
        length = max(1.0, bar_w * ratio(item.value, top)) if exact(item.value) else 0.0
        label = _short(item.label) + (" \u2605" if item.marked else "")
        colour = "#1B7A3A" if item.marked else PALETTE[0]
        out.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" class="label">{escape(label)}</text>')
        out.append(f'<rect x="{label_w}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" fill="{colour}">'
                   f'<title>{escape(item.label)}: {count_text(item.value)}</title></rect>')
        out.append(f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" class="value">{count_text(item.value)}</text>')
    if threshold is not None:
        x = label_w + bar_w * ratio(threshold, top)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="6" y2="{height - 24}" class="threshold"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" class="threshold-label">'
                   f'threshold {count_text(threshold)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _describe(items: list[Bar], threshold: object) -> str:
    parts = [f"{i.label} {count_text(i.value)}{' (elected)' if i.marked else ''}" for i in items]
    text = "; ".join(parts)
    return text + (f"; threshold {count_text(threshold)}" if threshold is not None else "")


# ---- the flow of votes across rounds ----

@dataclass
class _Node:
    x: float
    y: float
    height: float
    out_at: float = 0.0  # where the next band leaving it starts, from y
    in_at: float = 0.0


def flow(chart_id: str, title: str, rounds: list[dict], names: dict[str, str], table_id: str = "") -> Markup:
    """A Sankey diagram: a column per round, a block per candidate (and the inactive ballots) sized by
    its votes, and bands for the votes that stay and the votes each leaving candidate passes on."""
    order = [c for c in names if any(c in r["tallies"] for r in rounds)]
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(order)}
    gap, height, column, left = 6.0, 420.0, 130.0, 200.0
    largest = max(sum((exact(v) for v in r["tallies"].values()), 0) + exact(r["exhausted"]) for r in rounds) or 1
    scale = (height - gap * (len(order) + 1)) / float(largest)
    columns = [_column(r, order, left + i * column, scale, gap) for i, r in enumerate(rounds)]
    width = left + column * (len(rounds) - 1) + 220
    out = [
        f'<svg id="{chart_id}" class="chart flow" role="img" viewBox="0 0 {width:.0f} {height + 40:.0f}" '
        f'width="{width:.0f}" height="{height + 40:.0f}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-table="{escape(table_id)}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">Votes in each round and where the votes of each candidate who stopped '
        f'continuing went; the round-by-round table holds the same figures.</desc>',
    ]
    for i in range(len(rounds) - 1):
        out += _bands(rounds[i], rounds[i + 1], columns[i], columns[i + 1], scale, colour)
    for i, (rnd, nodes) in enumerate(zip(rounds, columns, strict=True)):
        out.append(f'<text x="{left + i * column + 6:.0f}" y="{height + 30:.0f}" text-anchor="middle" '
                   f'class="label">Round {rnd["round"]}</text>')
        for key, node in nodes.items():
            fill = INACTIVE_COLOUR if key is None else colour[key]
            name = "Inactive ballots" if key is None else names[key]
            out.append(f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="12" height="{max(node.height, 0.5):.1f}" '
                       f'fill="{fill}"><title>Round {rnd["round"]}: {escape(name)}</title></rect>')
    out += _labels(columns[0], names, left - 6, "end") + _labels(columns[-1], names, columns[-1][None].x + 18, "start")
    out.append("</svg>")
    return Markup("".join(out))


def _column(rnd: dict, order: list[str], x: float, scale: float, gap: float) -> dict:
    nodes: dict = {}
    y = gap
    for c in order:
        if c in rnd["tallies"]:
            h = float(exact(rnd["tallies"][c])) * scale
            nodes[c] = _Node(x, y, h)
            y += h + gap
    nodes[None] = _Node(x, y, float(exact(rnd["exhausted"])) * scale)
    return nodes


def _bands(rnd: dict, following: dict, here: dict, there: dict, scale: float, colour: dict) -> list[str]:
    """Stay bands (a candidate's votes carried into the next round) and transfer bands."""
    received: dict = {}
    flows: list[tuple] = []
    for t in rnd.get("transfers", []):
        for c, v in t["to"].items():
            received[c] = received.get(c, 0) + exact(v)
            flows.append((t["from"], c, exact(v)))
        if exact(t["exhausted"]):
            flows.append((t["from"], None, exact(t["exhausted"])))
    stays = [(c, c, exact(following["tallies"][c]) - received.get(c, 0)) for c in here if c is not None and c in there]
    stays.append((None, None, exact(rnd["exhausted"])))
    out = []
    for source, target, amount in stays + flows:
        if source not in here or target not in there or amount <= 0:
            continue
        size = float(amount) * scale
        a, b = here[source], there[target]
        x0, x1 = a.x + 12, b.x
        y0, y1 = a.y + a.out_at, b.y + b.in_at
        a.out_at += size
        b.in_at += size
        mid = (x0 + x1) / 2
        fill = INACTIVE_COLOUR if source is None else colour[source]
        out.append(
            f'<path d="M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f} '
            f'L{x1:.1f},{y1 + size:.1f} C{mid:.1f},{y1 + size:.1f} {mid:.1f},{y0 + size:.1f} {x0:.1f},{y0 + size:.1f} Z" '
            f'fill="{fill}" fill-opacity="0.4"/>'
        )
    return out


def _labels(nodes: dict, names: dict[str, str], x: float, anchor: str) -> list[str]:
    out = []
    for key, node in nodes.items():
        if node.height < 9 and key is not None:
            continue  # too thin to label; the table names everyone
        name = "Inactive ballots" if key is None else _short(names[key])
        out.append(f'<text x="{x:.1f}" y="{node.y + node.height / 2 + 4:.1f}" text-anchor="{anchor}" '
                   f'class="label">{escape(name)}</text>')
    return out
