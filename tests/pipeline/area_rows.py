"""Grouped stored ballot rows, as an area task reads them, for the tests of the area and contest stages."""

from __future__ import annotations

import random

import counting
from models.marks import encode

CANDIDATES = ["A", "B", "C", "D"]
POSITIONS = {c: i for i, c in enumerate(CANDIDATES)}
AREA = 7  # the area id each row ends with


def contest(method: str, max_votes: int, min_votes: int = 0) -> counting.Contest:
    return counting.parse_contest({"id": "x", "method": method, "max_votes": max_votes, "min_votes": min_votes,
                                   "candidates": [{"id": c} for c in CANDIDATES]})


def grouped_rows(rng: random.Random, kind: str, n: int) -> list[tuple]:
    """Grouped stored rows: (marks, explicit, defect, raw, weight, records, area id), odd ones included."""
    rows = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.05:
            rows.append((b"", False, "malformed-marks", None, 2, 1, AREA))
        elif roll < 0.1:
            rows.append((b"", False, None, '{"marks": [["Z", 1]]}', 1, 1, AREA))
        else:
            chosen = rng.sample(CANDIDATES, rng.randint(0, 4))
            marks = [(c, r + 1 if kind == "rank" else 1) for r, c in enumerate(chosen)]
            if chosen and rng.random() < 0.1:
                marks.append((chosen[0], 1))  # a candidate twice, or an overvote
            data = encode(tuple(marks), POSITIONS, kind)
            rows.append((data, rng.random() < 0.05, None, None, rng.randint(1, 9), rng.randint(1, 3), AREA))
    return rows
