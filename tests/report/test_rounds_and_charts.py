"""The results site's pure parts, from real counts (`tally count`): the sentences say where each
leaving candidate's votes went, the round table's transfers add up to the next round, figures are
written one way, the flow diagram's bands conserve votes, and names stay text in every chart."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cli.main import main
from report.charts import Bar, bars, flow
from report.figures import count_text, share_text, signed_text
from report.rounds import round_table, sentence

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "count.json"


def _count(capsys, path: Path) -> dict:
    assert main(["count", str(path), "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _names(result: dict) -> dict:
    return {c["id"]: c["name"] or c["id"] for c in result["candidates"]}


def test_the_example_reads_round_by_round(capsys):
    result = _count(capsys, EXAMPLE)
    names = _names(result)
    said = [sentence(r, names) for r in result["rounds"]]
    assert said == [
        "Round 1: Ken Tanaka is eliminated; 151 votes move: 120 to Chidi Okafor, 31 become inactive.",
        "Round 2: Elsa Lindqvist is eliminated; 274 votes move: 190 to Ana Rivera, 84 to Chidi Okafor.",
        "Round 3: Ana Rivera is elected with 600 votes.",
    ]
    table = round_table(result, result["rounds"], names)
    assert [line.name for line in table.lines] == ["Ana Rivera", "Chidi Okafor", "Elsa Lindqvist", "Ken Tanaka"]
    okafor = table.lines[1].cells
    assert [(c.votes, c.transfer) for c in okafor] == [("355", "+120"), ("475", "+84"), ("559", "0")]
    assert table.lines[3].cells[1].votes == "" and table.exhausted[0].transfer == "+31"


def test_a_surplus_and_each_member_of_a_batch_are_told_apart(capsys, tmp_path):
    doc = {
        "contest": {"id": "c", "method": "rcv", "seats": 2, "candidates": [{"id": x} for x in "ABCDE"],
                    "options": {"winner_election_mode": "multi-winner-allow-multiple-winners-per-round",
                                "decimal_places_for_vote_arithmetic": 4}},
        "ballots": [{"marks": [["A", 1], ["B", 2]], "weight": 60}, {"marks": [["B", 1]], "weight": 20},
                    {"marks": [["C", 1], ["B", 2]], "weight": 10}, {"marks": [["D", 1], ["C", 2]], "weight": 3},
                    {"marks": [["E", 1]], "weight": 2}],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    result = _count(capsys, path)
    names = _names(result)
    first = sentence(result["rounds"][0], names)
    assert first == ("Round 1: A is elected with 60 votes; its surplus of 28 votes moves: 27.9960 to B, "
                     "0.0040 stay as residual surplus.")
    batch = {"contest": {"id": "m", "method": "instant-runoff", "seats": 1, "candidates": doc["contest"]["candidates"],
                         "options": {"batch_elimination": True}},
             "ballots": [{"marks": [["A", 1]], "weight": 30}, {"marks": [["B", 1]], "weight": 28},
                         {"marks": [["C", 1]], "weight": 25}, {"marks": [["D", 1], ["C", 2]], "weight": 3},
                         {"marks": [["E", 1]], "weight": 2}]}
    path.write_text(json.dumps(batch))
    round_one = _count(capsys, path)["rounds"][0]
    assert round_one["eliminated"] == ["E", "D"] and sentence(round_one, {c: c for c in "ABCDE"}) == (
        "Round 1: E is eliminated; 2 votes move: 2 become inactive. D is eliminated; 3 votes move: 3 to C.")
    for i, rnd in enumerate(result["rounds"][:-1]):
        following = result["rounds"][i + 1]
        moved = {}
        for t in rnd.get("transfers", []):
            for c, v in t["to"].items():
                moved[c] = moved.get(c, 0) + float(v)
        for c, v in moved.items():  # what a candidate received is what it gained
            assert abs(float(following["tallies"][c]) - float(rnd["tallies"].get(c, 0)) - v) < 1e-9 or c in rnd["elected"]


def test_figures_are_written_one_way():
    assert count_text(1234567) == "1,234,567" and count_text("1136.95921") == "1,136.9592"
    assert count_text("1/3") == "0.3333" and count_text("2/3") == "0.6667"
    assert signed_text(-19) == "-19" and signed_text(0) == "0" and signed_text("2.5") == "+2.5000"
    assert share_text(1, 3) == "33.3333%" and share_text(0, 0) == "0%"


def test_charts_keep_names_as_text_and_bands_conserve_votes(capsys):
    chart = bars("c1", "A <chart>", [Bar("<script>x</script>", 5, True), Bar("=1+1", 0)], threshold=3, table_id="t")
    assert "<script>" not in chart and "&lt;script&gt;x&lt;/script&gt;" in chart
    assert 'role="img"' in chart and 'aria-labelledby="c1-title c1-desc"' in chart and 'data-table="t"' in chart
    result = _count(capsys, EXAMPLE)
    svg = flow("f", "flow", result["rounds"], _names(result))
    # into round 2: three candidates stay, Tanaka's votes go to Okafor and to inactive; into round 3: two
    # stay, the inactive ballots stay, Lindqvist's go to Rivera and to Okafor
    assert svg.count("<path ") == 10
    heights = [float(h) for h in re.findall(r'<rect x="[^"]+" y="[^"]+" width="12" height="([^"]+)"', svg)]
    assert len(heights) == sum(len(r["tallies"]) + 1 for r in result["rounds"])
