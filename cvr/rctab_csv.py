"""A ranked result as RCTab's detailed report CSV (`tally count --format rctab-csv`), made from the
report JSON of `cvr/rctab_report.py`, so that the two always say the same: the contest's information
and summary, then per round each candidate's votes, share of the vote and transfer into the next
round, the active ballots, the threshold, the inactive ballots by reason and, for a count that
transfers surpluses, the residual and the final round's surplus.

Numbers are the report's decimal strings; a figure derived from them (a transfer, a sum) keeps the
most decimal places of those it combines, as RCTab's BigDecimal arithmetic does. Lines end in "\n",
as the expected reports of RCTab's repository are stored (RCTab itself ends them in "\r\n").
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Context, Decimal

from counting.methods.rcv_rules import WinnerMode

from .rctab_config import UWI_NAME
from .rctab_report import GENERATED_BY

TIE_MARK = "*"  # after a candidate whom a tie-break elected or eliminated
PRECINCT_MARK = "†"  # on the decision rows of a precinct's report: the decisions are the contest's
TIE_NOTE = TIE_MARK + "Tie resolved in accordance with election law"
PRECINCT_NOTE = (PRECINCT_MARK + "Elect/Eliminate decisions are from the full contest. "
                 "All other results on this report are at the precinct level.")
INACTIVE_ROWS = (  # the report's reasons, in the order RCTab writes their rows
    ("overvotes", "Inactive Ballots by Overvotes"),
    ("skippedRankings", "Inactive Ballots by Skipped Rankings"),
    ("exhaustedChoices", "Inactive Ballots by Exhausted Choices"),
    ("repeatedRankings", "Inactive Ballots by Repeated Rankings"),
)
EXACT = Context(prec=200)  # sums and differences of the report's figures: never rounded
SHARE = Context(prec=7, rounding=ROUND_HALF_EVEN)  # Java's MathContext.DECIMAL32, RCTab's share division
ZERO = Decimal(0)


def detailed_csv(doc: dict, contest: dict, decided: list[dict]) -> str:
    """The CSV of one report (`report()`, one pass of a multi-pass count, or `precinct_report()`).
    `contest` is the counted contest (candidates in the configuration's order, options), `decided`
    the rounds of the count (or pass) that made the decisions: their first round orders the
    candidates and their tie-breaks mark the decisions."""
    rounds = doc["results"]
    options = contest.get("options") or {}
    precinct = doc["config"].get("precinct")
    names = {c["id"]: c.get("name") or c["id"] for c in contest["candidates"]}
    first_round = {names[c]: v for c, v in (decided[0]["tallies"] if decided else {}).items()}
    order = candidate_order(list(names.values()), first_round)
    tie_broken = {(t["round"], names[c]) for rnd in decided for t in rnd.get("tie_breaks", []) for c in t["chosen"]}
    active = [_active(rnd) for rnd in rounds]

    rows = _information(doc, options, precinct) + _summary(doc, options, len(order))
    rows.append(["Rounds"] + [c for r in rounds for c in (f"Round {r['round']} Votes", "% of vote", "transfer")])
    mark = PRECINCT_MARK if precinct is not None else ""
    for kind in ("eliminated", "elected"):
        rows.append([kind.title() + mark] + _alone(_decision_cells(rounds, kind, tie_broken)))
    divisors = _share_divisors(options, active)
    for name in order:
        votes = [_number(r["tally"].get(name, 0)) for r in rounds]
        rows.append([name] + _with_transfers(votes, [_share(v, d) for v, d in zip(votes, divisors, strict=True)]))
    rows += _ballot_rows(rounds, active, whole_contest=precinct is None)
    if precinct is not None:
        rows += [[], [PRECINCT_NOTE]]
    if any((r["round"], e.get("elected") or e["eliminated"]) in tie_broken for r in rounds for e in r["tallyResults"]):
        rows += [[], [TIE_NOTE]]  # a decision above is marked
    return "".join(_line(row) for row in rows)


def _ballot_rows(rounds: list[dict], active: list[Decimal], whole_contest: bool) -> list[list]:
    """Active ballots, the threshold, inactive ballots by reason and in all, and a surplus count's
    residual and final-round surplus. A precinct's report has no threshold nor residual surplus:
    they are the whole contest's."""
    rows = [["Active Ballots"] + _alone(active)]
    if whole_contest:
        rows.append(["Current Round Threshold"] + _alone(_number(r["threshold"]) for r in rounds))
    by_reason = [[_number(r["inactiveBallots"][key]) for r in rounds] for key, _ in INACTIVE_ROWS]
    rows += [[label] + _with_transfers(values) for (_, label), values in zip(INACTIVE_ROWS, by_reason, strict=True)]
    rows.append(["Inactive Ballots Total"] + _with_transfers([_sum(per) for per in zip(*by_reason, strict=True)]))
    residual = _residual_surplus(rounds)
    if whole_contest and residual and residual[-1] > 0:
        rows.append(["Residual surplus"] + _alone(residual))
    if rounds and "finalRoundSurplus" in rounds[-1]["inactiveBallots"]:  # a count that transfers surpluses
        rows.append(["Final Round Surplus"] + _alone(_final_round_surplus(r) for r in rounds))
    return rows


def candidate_order(configured: list[str], first_round: dict) -> list[str]:
    """RCTab's order of the candidate rows (by name): most first-round votes first, write-ins last;
    equal votes in the order of the Java hash tables RCTab keeps them in (a HashSet of every
    configured candidate, then the first round's HashMap of those continuing, filled from it)."""
    continuing = [c for c in hash_order(configured) if c in first_round]
    return sorted(hash_order(continuing), key=lambda c: (c == UWI_NAME, -_number(first_round[c])))


def hash_order(keys: list[str]) -> list[str]:
    """The iteration order of a java.util.HashMap (or HashSet) filled with `keys` in this order:
    by bucket, and within a bucket in the order they came; the table doubles from 16 buckets
    whenever it is more than three-quarters full, which keeps that order within a bucket. (Java
    also reshapes a bucket that reaches 8 keys; no contest has that many candidates colliding.)"""
    buckets = 16
    while len(keys) > buckets * 3 // 4:
        buckets *= 2
    return sorted(keys, key=lambda k: _java_spread_hash(k) & (buckets - 1))


def _java_spread_hash(text: str) -> int:
    """String.hashCode() over UTF-16 code units (as 32 bits), spread by HashMap.hash()."""
    h = 0
    units = text.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i:i + 2], "big")) & 0xFFFFFFFF
    return h ^ (h >> 16)


def _information(doc: dict, options: dict, precinct: str | None) -> list[list]:
    config, summary = doc["config"], doc["summary"]
    single = options.get("winner_election_mode", WinnerMode.SINGLE_WINNER) == WinnerMode.SINGLE_WINNER
    winners = [e["elected"] for r in doc["results"] for e in r["tallyResults"] if "elected" in e]
    return [
        ["Contest Information"],
        ["Generated By", GENERATED_BY],
        ["CSV Format Version", "1"],
        ["Type of Election", "Single-Winner" if single else "Multi-Winner"],
        ["Contest", config["contest"]],
        ["Jurisdiction", config["jurisdiction"]],
        ["Office", config["office"]],
        ["Date", config["date"]],
        ["Winner(s)", ", ".join(winners)],  # by round, each round's by name as the report lists them
        ["Precinct", precinct] if precinct is not None else ["Final Threshold", summary["finalThreshold"]],
        [],
    ]


def _summary(doc: dict, options: dict, candidates: int) -> list[list]:
    summary = doc["summary"]
    if options.get("winner_election_mode") == WinnerMode.BOTTOMS_UP_PERCENTAGE:
        to_elect = f"All candidates over the {options.get('bottoms_up_percentage_threshold')}% threshold"
    else:
        to_elect = str(summary["numWinners"])
    return [
        ["Contest Summary"],
        ["Number to be Elected", to_elect],
        ["Number of Candidates", str(candidates)],  # those counted: excluded ones (earlier passes' winners) are not
        ["Total Number of Ballots", str(summary["totalNumBallots"])],
        ["Number of Undervotes (No Rankings)", str(summary["undervotes"])],
        [],
    ]


def _decision_cells(rounds: list[dict], kind: str, tie_broken: set) -> list[str]:
    """Per round, the candidates elected (or eliminated) in it by name, each a tie-break decided
    marked, in one cell."""
    return ["; ".join(e[kind] + (TIE_MARK if (r["round"], e[kind]) in tie_broken else "")
                      for e in r["tallyResults"] if kind in e) for r in rounds]


def _active(rnd: dict) -> Decimal:
    """The ballots counting for a candidate, and (in the last round of a surplus count) the
    surplus left on the winners, which RCTab counts as active."""
    surplus = _number(rnd["inactiveBallots"].get("finalRoundSurplus", 0))
    return _sum([_number(v) for v in rnd["tally"].values()] + [surplus])


def _share_divisors(options: dict, active: list[Decimal]) -> list[Decimal]:
    """Each round's share of the vote is of its own active ballots in single-winner and percentage
    threshold counts (of the first round's when the first round sets the threshold), else of the
    first round's."""
    per_round = options.get("winner_election_mode", WinnerMode.SINGLE_WINNER) in (
        WinnerMode.SINGLE_WINNER, WinnerMode.BOTTOMS_UP_PERCENTAGE)
    if per_round and not options.get("first_round_determines_threshold"):
        return active
    return [active[0]] * len(active) if active else []


def _share(votes: Decimal, divisor: Decimal) -> str:
    """"13.26%": the share rounded to 7 digits, then truncated to hundredths of a percent and
    written as a Java double ("0.0%", "25.0%")."""
    if divisor == 0:
        return ""
    hundredths = int(SHARE.divide(votes, divisor).scaleb(4))
    return f"{hundredths / 100.0!r}%"


def _residual_surplus(rounds: list[dict]) -> list[Decimal]:
    """Per round, the residual surplus of the winners elected before it, added up."""
    out, total = [], ZERO
    for rnd in rounds:
        out.append(total)
        total = _sum([total] + [_number(e["transfers"]["residual surplus"])
                                for e in rnd["tallyResults"] if "residual surplus" in e["transfers"]])
    return out


def _final_round_surplus(rnd: dict) -> str:
    # RCTab leaves the cell empty where the figure equals a plain 0 (a "0.0000" is written).
    text = str(rnd["inactiveBallots"].get("finalRoundSurplus", "0"))
    return "" if text == "0" else text


def _with_transfers(values: list[Decimal], shares: list[str] | None = None) -> list[str]:
    """Per round: the value, its share (empty for ballots), what it gains in the next round (0 in the last)."""
    cells = []
    for i, value in enumerate(values):
        change = EXACT.subtract(values[i + 1], value) if i + 1 < len(values) else 0
        cells += [str(value), shares[i] if shares else "", str(change)]
    return cells


def _alone(values: Iterable) -> list[str]:
    """Per round: the value, then empty share and transfer cells."""
    return [cell for value in values for cell in (str(value), "", "")]


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total = EXACT.add(total, value)
    return total


def _number(value) -> Decimal:
    return Decimal(str(value))


def _line(cells: list[str]) -> str:
    """One record as Apache Commons CSV's default format writes it (RCTab's CSVPrinter). Python's
    csv module quotes fewer fields (not one starting with a character up to '#' nor one ending in a
    space or control character), so the rule is spelled out here."""
    return ",".join(_cell(text, i == 0) for i, text in enumerate(cells)) + "\n"


def _cell(text: str, first: bool) -> str:
    if text == "":
        return '""' if first else ""  # an empty first cell is quoted, else the line would read as empty
    quoted = (text[0] <= "#" or text[-1] <= " "
              or any(c in text for c in ',"\r\n'))
    return '"' + text.replace('"', '""') + '"' if quoted else text
