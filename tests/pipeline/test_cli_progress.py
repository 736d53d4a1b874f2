"""`tally run --wait` and `tally status --watch` show live progress, then the results table."""

from __future__ import annotations

import re

import pytest

from tests import factories as f

pytestmark = pytest.mark.integration


def _progress(stderr: str) -> list[tuple[str, int, int, int]]:
    found = re.findall(r"\] (\w+): (\d+)/(\d+) areas, ([\d,]+) ballots", stderr)
    return [(status, int(done), int(total), int(ballots.replace(",", ""))) for status, done, total, ballots in found]


def test_run_wait_and_status_watch_show_progress_then_results(stack):
    definition = f.election("progress-1", [f.contest("mayor", "plurality-at-large")], areas=f.area_tree((5, 8)))
    ballots = f.random_ballots(definition, 4000, seed=2)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    stack.start_worker("w1")
    run = stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "120")
    lines = _progress(run.stderr)
    assert lines[-1] == ("COMPLETED", 46, 46, 4000)
    assert all(b[1] <= a[1] for a, b in zip(lines[1:], lines)), "areas done never goes back"
    assert "Winners:" in run.stdout and "Participation" in run.stdout

    watch = stack.tally("status", str(election_id), str(period_id), "--watch", "--timeout", "30")
    assert _progress(watch.stderr)[-1] == ("COMPLETED", 46, 46, 4000)
    assert "Winners:" in watch.stdout
