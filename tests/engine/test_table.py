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
    text = format_table(result, width=160)  # the reason on one line: at 100 columns it wraps
    assert "excluded in round 1 with 8: its exclusion group already has as many elected members as it may" in text
    assert re.search(r"Excluded \(group full\)\s+L", text)
    assert "Votes actually" not in text and "Alert:" not in text
    assert re.search(r"Marks made on valid ballots\s+30", text)
    assert re.search(r"Valid ballots with unused marks \(counted\)\s+7", text)


def _many_rounds(n: int, figure: str) -> dict:
    ids = [f"Cand {i}" for i in range(n + 1)]
    rounds = [{"round": r + 1, "tallies": {c: (figure if c == ids[0] else 100 + i) for i, c in enumerate(ids[r:])},
               "threshold": 500, "exhausted": r, "elected": [], "eliminated": [ids[r]]} for r in range(n)]
    return {"contest": "mayor", "method": "rcv", "seats": 1, "winners": [ids[-1]], "quota": figure,
            "candidates": [{"id": c, "name": c, "total_count": figure if i == 0 else 100 + i, "rank": i + 1,
                            "is_winner": i == n, "percentage_votes": "1.2345"} for i, c in enumerate(ids)],
            "rounds": rounds, "totals": {"total_votes": 1000, "valid": 1000}, "percentages": {}}


def test_round_grids_are_blocks_that_fit_the_width_and_figures_are_never_cut():
    """Issue 27, item 5: a grid of every round was one table as wide as it liked, and figures were
    cut to "1136.9592…". Rounds now come in blocks that fit, each repeating the candidate column."""
    figure = "1136.95923076923076923"
    result = _many_rounds(14, figure)
    for width in (100, 60):
        text = format_table(result, width=width)
        assert "…" not in text
        grids = text[text.index("\nRounds ("):]
        assert max(map(len, grids.splitlines())) <= width, width
        if width == 100:  # at 60 the candidates table's two long figures and its columns need more room
            assert max(map(len, text.splitlines())) <= width
        assert f"Quota: {figure}" in text and re.search(rf"^\s+1\s+Cand 0\s.*{figure}", text, re.M)
        blocks = re.findall(r"^Rounds \(R(\d+)-R(\d+) of 14\)\nCandidate ", text, re.M)
        assert len(blocks) > 1 and int(blocks[0][0]) == 1 and int(blocks[-1][1]) == 14
        assert all(int(b[0]) == int(a[1]) + 1 for a, b in zip(blocks, blocks[1:], strict=False))
        assert re.search(rf"^Cand 0\s+{re.escape(figure)}(\s+-)+$", text, re.M)  # round 1's grid line
    # a figure wider than the width makes its table wider, never shorter
    long = "1" * 70 + ".5"
    text = format_table(_many_rounds(3, long), width=40)
    assert text.count(long) == 4 and "…" not in text  # quota, candidates table, round 1


def test_names_are_shown_as_written_not_read_as_markup():
    result = _many_rounds(2, "7")
    result["winners"] = ["[b]Bold[/b] :smile:"]
    assert "Winners: [b]Bold[/b] :smile:" in format_table(result)


def test_an_area_shows_who_leads_there_the_contests_winners_and_its_followed_rounds():
    from counting.table import format_area_table

    area = {"contest": "mayor", "method": "instant-runoff", "seats": 1, "winners": ["B"], "candidates": [],
            "totals": {"total_votes": 9, "valid": 9}, "percentages": {},
            "ties": [{"purpose": "elect", "candidates": ["A", "B"], "chosen": ["B"], "rule": "x"}],
            "followed_rounds": [
                {"round": 1, "tallies": {"A": 5, "B": 1, "C": 3}, "threshold": 10, "exhausted": 0, "elected": [],
                 "eliminated": ["C"]},
                {"round": 2, "tallies": {"A": 5, "B": 4}, "threshold": 10, "exhausted": 0, "elected": ["B"],
                 "eliminated": []}]}
    text = format_area_table(area, ["B"], ["A"], 100, "in the contest's last round here")
    assert "Winners:" not in text and "Ties" not in text
    assert "Contest winners: B\n" in text and "Leading here: A (in the contest's last round here)\n" in text
    assert re.search(r"^A\s+5\s+5$", text, re.M) and re.search(r"^C\s+3\s+-$", text, re.M)
    assert re.search(r"^Elected \(the contest's\)\s+B$", text, re.M)
    unfollowed = format_area_table({**area, "followed_rounds": None}, ["B"], None)
    assert "Leading here: not computed for this area" in unfollowed and "Rounds here" not in unfollowed
