"""The results table (counting/table.py, laid out by rich) says what the result JSON says, including
when and with what count a candidate left the count and why an exclusion group excluded one."""

from __future__ import annotations

import re

from counting.interchange import count_document
from counting.table import format_table


def _ranked(order: str, n: int) -> list[dict]:
    return [{"marks": [[c, r + 1] for r, c in enumerate(order)]} for _ in range(n)]


def test_eliminated_candidates_show_the_count_of_the_round_they_left():
    candidates = [{"id": c, "name": c} for c in "ABCD"]
    ballots = _ranked("A", 5) + _ranked("BA", 4) + _ranked("CB", 3) + _ranked("DC", 2)
    result = count_document({"contest": {"id": "m", "method": "instant-runoff", "max_votes": 4,
                                         "candidates": candidates}, "ballots": ballots})
    text = format_table(result)
    left = [(r["round"], c, r["tallies"][c]) for r in result["rounds"] for c in r["eliminated"]]
    assert len(left) == 2 and all(count > 0 for _, _, count in left)
    final = {c["id"]: c["total_count"] for c in result["candidates"]}
    for number, c, count in left:
        # the final count of a candidate who left is 0; the table also gives the count they left with
        assert re.search(rf"^\s*\d+\s+{c}\s+{c}\s+{final[c]}\s.*eliminated in round {number} with {count}$", text, re.M), text
    assert "elected in round" in text


def test_an_excluded_candidate_says_why_and_labels_say_what_they_count():
    result = {
        "contest": "board", "method": "meek-stv", "seats": 2, "winners": ["K"], "quota": 10,
        "candidates": [{"id": "K", "total_count": 12, "rank": 1, "is_winner": True},
                       {"id": "L", "total_count": 8, "rank": 2, "is_winner": False}],
        "rounds": [{"round": 1, "tallies": {"K": 12, "L": 8}, "threshold": 10, "elected": ["K"], "eliminated": [],
                    "excluded": ["L"]}],
        "totals": {"total_votes": 20, "valid": 20}, "percentages": {},
        "extended_metrics": {"expected_votes": 40, "votes_actually": 30, "under_votes": 10, "over_votes": 0,
                             "alerts": {"under-vote": 7}},
    }
    text = format_table(result)
    assert "excluded in round 1 with 8: its exclusion group already has as many elected members as it may" in text
    assert re.search(r"Excluded \(group full\)\s+L", text)
    assert "Votes actually" not in text and "Alert:" not in text
    assert re.search(r"Marks made on valid ballots\s+30", text)
    assert re.search(r"Valid ballots with unused marks \(counted\)\s+7", text)
