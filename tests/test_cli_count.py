"""`tally count`, run as the installed console script on files and on standard input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from counting.interchange import count_document
from tests.cvr.corpus import CORPUS

TALLY = Path(sys.executable).parent / "tally"
DOCUMENT = {
    "census": 10,
    "contest": {
        "id": "council",
        "method": "plurality-at-large",
        "seats": 1,
        "max_votes": 1,
        "candidates": [{"id": "A", "name": "Alice"}, {"id": "B", "name": "Bob"}],
    },
    "ballots": [{"marks": [["A", 1]], "weight": 3}, {"marks": [["B", 1]]}, {"marks": []}, 42],
}


def tally(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(TALLY), "count", *args], input=stdin, capture_output=True, timeout=60)


@pytest.fixture
def doc_file(tmp_path: Path) -> Path:
    path = tmp_path / "council.json"
    path.write_text(json.dumps(DOCUMENT))
    return path


def test_prints_the_result_json_sorted_and_indented(doc_file):
    run = tally(str(doc_file))
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode() == json.dumps(count_document(DOCUMENT), sort_keys=True, indent=2) + "\n"
    result = json.loads(run.stdout)
    assert result["winners"] == ["A"]
    assert result["totals"]["invalid_reasons"] == {"malformed-record": 1}


def test_reads_standard_input_with_a_dash(doc_file):
    run = tally("-", stdin=doc_file.read_bytes())
    assert run.returncode == 0, run.stderr
    assert run.stdout == tally(str(doc_file)).stdout


def test_table_format(doc_file):
    run = tally(str(doc_file), "--format", "table")
    assert run.returncode == 0, run.stderr
    text = run.stdout.decode()
    assert "Winners: A" in text and "malformed-record" in text and "Turnout" in text


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"seats": 0}, "error: contest.seats: must be at least 1, got 0"),
        ({"method": "sortition"}, "error: contest.method: unknown method 'sortition'"),
        ({"candidates": [{"id": "A"}, {"id": "A"}]}, "error: contest.candidates: duplicate candidate id(s): A"),
    ],
)
def test_a_malformed_definition_names_the_field_and_exits_2(tmp_path, change, expected):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**DOCUMENT, "contest": {**DOCUMENT["contest"], **change}}))
    run = tally(str(path))
    assert run.returncode == 2
    assert run.stderr.decode().startswith(expected)
    assert run.stdout == b""


def test_a_document_without_ballots_names_the_field():
    run = tally("-", stdin=json.dumps({"contest": DOCUMENT["contest"]}).encode())
    assert (run.returncode, run.stderr.decode().strip()) == (2, "error: ballots: is required")


def test_unreadable_json_gives_the_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"contest": {\n  "id": ,\n}')
    run = tally(str(path))
    assert run.returncode == 2
    assert run.stderr.decode().strip() == f"error: {path}: invalid JSON at line 2 column 9: Expecting value"


@pytest.mark.parametrize("data", [b"\xff\xfe\xfd", b"[" * 100_000])
def test_undecodable_or_too_deep_input_is_refused(data):
    run = tally("-", stdin=data)
    assert run.returncode == 2 and run.stderr.startswith(b"error: <stdin>: unreadable JSON")


def test_a_missing_file_is_an_error(tmp_path):
    run = tally(str(tmp_path / "nope.json"))
    assert run.returncode == 2
    assert run.stderr.decode().strip() == f"error: {tmp_path / 'nope.json'}: No such file or directory"


PORTLAND = CORPUS / "2015_portland_mayor"


@pytest.mark.skipif(not PORTLAND.is_dir(), reason=f"the RCTab corpus is not beside the repo at {PORTLAND}")
def test_portlands_fourteen_rounds_fit_a_hundred_columns_with_every_figure_whole():
    """Issue 27, item 5: the 14 rounds were one grid 335 columns wide. At COLUMNS=100 they are
    blocks of rounds, each repeating the candidate column, and every round's figure is in its place."""
    config = str(PORTLAND / "2015_portland_mayor_config.json")

    def count(fmt: str) -> str:
        run = subprocess.run([str(TALLY), "count", "--rctab-config", config, "--allow-outside-paths", "--format", fmt],
                             capture_output=True, timeout=120, env={**os.environ, "COLUMNS": "100"})
        assert run.returncode == 0, run.stderr
        return run.stdout.decode()

    result, text = json.loads(count("json")), count("table")
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100 and "…" not in text
    rounds = result["rounds"]
    assert len(rounds) == 14
    seen: dict[int, dict[str, str]] = {}
    headers = [i for i, line in enumerate(lines) if re.fullmatch(r"Candidate(\s+R\d+)+", line)]
    assert len(headers) > 1  # several blocks
    for at in headers:
        ends = {int(m.group(1)): m.end() for m in re.finditer(r"R(\d+)", lines[at])}  # figures end under their header
        for line in lines[at + 2:]:
            if not line.strip():
                break
            label = next((c for c in rounds[0]["tallies"] if line.startswith(c + " ")), None)
            for number, end in ends.items():
                if label is not None:
                    seen.setdefault(number, {})[label] = line[:end].split()[-1]
    assert sorted(seen) == list(range(1, 15))
    for r in rounds:
        shown = {c: seen[r["round"]][c] for c in r["tallies"]}
        assert shown == {c: str(v) for c, v in r["tallies"].items()}, r["round"]
