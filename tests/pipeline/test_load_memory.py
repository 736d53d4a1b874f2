"""The loader streams: `tally load --ballots` of a ~30 MB file grows the process by less than the
file's size (parsed whole with json.loads it took about ten times the file), on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from cli.demo import definition, sample_ballots
from services.lifecycle import periods
from tests.support import BIN, Stack

pytestmark = pytest.mark.integration

PEAK = ("import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, code)\n")


def _peak_rss(stack: Stack, *args: str) -> int:
    """Peak RSS in bytes of one `tally` run."""
    out = subprocess.run([sys.executable, "-c", PEAK, str(BIN / "tally"), *args], env=stack.env, cwd=stack.workdir,
                         capture_output=True, text=True, timeout=600)
    peak, code = out.stdout.strip().splitlines()[-1].split()
    assert code == "0", out.stderr
    return int(peak)


@pytest.mark.slow
def test_loading_a_large_ballots_file_streams(pg_url, tmp_path):
    stack = Stack(pg_url, "", tmp_path)
    doc = definition("load-memory", periods.now() + timedelta(hours=1))
    (tmp_path / "definition.json").write_text(json.dumps(doc))
    stack.tally("load", "--definition", str(tmp_path / "definition.json"))

    def ballots_file(name: str, per_contest: int) -> int:
        path = tmp_path / name
        with open(path, "w") as out:
            json.dump({"election": "load-memory", "period": "main",
                       "ballots": sample_ballots(doc["contests"], per_contest, seed=3)}, out)
        return path.stat().st_size

    ballots_file("small.json", 10)
    size = ballots_file("large.json", 100_000)
    baseline = _peak_rss(stack, "load", "--ballots", str(tmp_path / "small.json"))
    peak = _peak_rss(stack, "load", "--ballots", str(tmp_path / "large.json"))
    grown = peak - baseline
    print(f"\nloading {size / 2**20:.1f} MB (300,000 ballots): peak RSS {peak / 2**20:.0f} MB, "
          f"{grown / 2**20:.0f} MB above loading 30 ballots ({grown / size:.2f}x the file)")
    assert grown < size, (grown, size)


def test_a_streamed_file_that_breaks_midway_loads_nothing(pg_url, tmp_path):
    from sqlalchemy import text

    from models.db import session_scope

    stack = Stack(pg_url, "", tmp_path)
    doc = definition("load-broken", periods.now() + timedelta(hours=1))
    (tmp_path / "definition.json").write_text(json.dumps(doc))
    stack.tally("load", "--definition", str(tmp_path / "definition.json"))
    whole = json.dumps({"election": "load-broken", "period": "main", "ballots": sample_ballots(doc["contests"], 50, 1)})
    (tmp_path / "broken.json").write_text(whole[: len(whole) // 2])  # cut in the middle of the ballots
    out = stack.tally("load", "--ballots", str(tmp_path / "broken.json"), check=False)
    assert out.returncode == 2 and "ballots: not valid JSON" in out.stderr, out
    (tmp_path / "late.json").write_text(json.dumps({"ballots": [], "period": "main", "election": "load-broken"}))
    assert "loaded 0 ballot(s)" in stack.tally("load", "--ballots", str(tmp_path / "late.json")).stdout
    with session_scope(pg_url) as session:
        assert session.execute(text("SELECT count(*) FROM ballots")).scalar() == 0


def test_brackets_inside_strings_never_refuse_a_file_that_is_not_deep(tmp_path):
    """Brackets inside a string are text, however many: the file loads."""
    from services.loading.ballot_file import open_ballot_file

    name = "[" * 5000
    path = tmp_path / "ballots.json"
    path.write_text(json.dumps({"election": "e", "period": "main",
                                "ballots": [{"contest": "c", "area": "a", "marks": [[name, 1]]}] * 3}))
    ballots = open_ballot_file(path)
    assert [r["marks"][0][0] for r in ballots.records()] == [name] * 3


def test_a_file_nested_past_what_json_reads_is_refused(tmp_path):
    """A record nested deeper than the parser's recursion limit (as `json.loads`, so `tally count`, refuses
    it) is refused as invalid JSON, with the record named."""
    from services.loading.ballot_file import open_ballot_file
    from services.loading.fields import LoadError

    depth = 1_000_000
    path = tmp_path / "ballots.json"
    path.write_text('{"election": "e", "period": "main", "ballots": [{"marks": ' + "[" * depth + "]" * depth + "}]}")
    with pytest.raises(LoadError, match="ballots: not valid JSON \\(ballot 1: nested too deeply to read\\)"):
        list(open_ballot_file(path).records())
