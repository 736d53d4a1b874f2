"""`tally run --wait` and `tally status --watch` show live progress, then the results table."""

from __future__ import annotations

import re

import pytest

from tests import factories as f

pytestmark = pytest.mark.integration


def _progress(stderr: str) -> list[tuple[str, int, int, int]]:
    found = re.findall(r"progress: (\w+): (\d+)/(\d+) areas, ([\d,]+) ballots", stderr)
    return [(status, int(done), int(total), int(ballots.replace(",", ""))) for status, done, total, ballots in found]


@pytest.mark.slow
def test_run_wait_and_status_watch_show_progress_then_results(stack):
    definition = f.election("progress-1", [f.contest("mayor", "plurality-at-large")], areas=f.area_tree((5, 8)))
    ballots = f.random_ballots(definition, 4000, seed=2)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    stack.start_worker("w1")
    run = stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "120")
    lines = _progress(run.stderr)
    assert lines[-1] == ("COMPLETED", 46, 46, 4000)
    assert all(b[1] <= a[1] for a, b in zip(lines[1:], lines, strict=False)), "areas done never goes back"
    assert "Winners:" in run.stdout and "Participation" in run.stdout

    watch = stack.tally("status", str(election_id), str(period_id), "--watch", "--timeout", "30")
    assert _progress(watch.stderr)[-1] == ("COMPLETED", 46, 46, 4000)
    assert "Winners:" in watch.stdout


@pytest.mark.slow
def test_results_narrowed_to_an_area(stack):
    definition = f.election("areas-1", [f.contest("mayor", "plurality-at-large")])
    election_id, period_id = f.load(stack.database_url, definition, f.random_ballots(definition, 300, seed=4))
    del stack.env["CELERY_BROKER_URL"]  # embedded: the CLI runs the tally in-process
    stack.tally("run", str(election_id), str(period_id), "--force")
    import json

    narrowed = json.loads(stack.cli("results", str(election_id), "--area", "a2", "--format", "json").stdout)
    contest = narrowed["tallies"][0]["contests"][0]
    assert set(contest["areas"]) == {"a2"} and set(contest["subtrees"]) == {"a2"}
    assert contest["subtrees"]["a2"]["totals"]["total_votes"] > contest["areas"]["a2"]["totals"]["total_votes"]
    table = stack.cli("results", str(election_id), "--area", "a2").stdout
    assert "== mayor, area a2 ==" in table and "== mayor, area subtree a2 ==" in table
    missing = stack.cli("results", str(election_id), "--area", "atlantis", check=False)
    assert missing.returncode == 2 and "no published results for area 'atlantis'" in missing.stderr
