"""Redis restarted in the middle of a tally (a redis-server of the test's own, no persistence: the
queue, the unacked messages, the results and the chord counters are all gone when it comes back).

Workers and beat reconnect; the run, stalled in RUNNING, is re-dispatched by the reconciler and
completes, or ends FAILED and an operator's `tally run` completes it. Never a partial result."""

from __future__ import annotations

import time

import pytest

from tests import factories as f
from tests.support import wait_for

from .helpers import (
    NoPartialResults, audit_kinds, period_status, published_rows, results, runs, staged_areas, start_worker,
    wait_run_over,
)

pytestmark = pytest.mark.integration

AREAS = 120


@pytest.mark.slow
def test_redis_restart_mid_tally(own_stack):
    stack = own_stack
    # About 80 ballots an area: area tasks of about three areas, 80 of them, each paced 50 ms an area so
    # that Redis goes down mid-tally however fast the counting (unpaced, a busy machine's poll could miss
    # the whole tally).
    stack.env.update(TALLY_STUCK_AFTER="6", TALLY_RECONCILE_INTERVAL="0.5", TALLY_ADVANCE_INTERVAL="3600",
                     TALLY_BATCH_BALLOTS="250", TALLY_TEST_AREA_PACE="0.05")
    areas = f.split_areas(AREAS, 40_000, seed=4)
    contests = [f.contest("mayor", "instant-runoff", candidates=5),
                f.contest("council", "plurality-at-large", candidates=6, seats=3, max_votes=3)]
    definition = f.election("redis-1", contests, areas=areas)
    ballots = f.random_ballots(definition, 10_000, seed=8)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    start_worker(stack, "w1", app="tests.faults.paced_app")
    start_worker(stack, "w2", app="tests.faults.paced_app")
    stack.start_beat()

    with NoPartialResults(stack.database_url) as reader:
        stack.tally("advance")
        run_id = wait_for(lambda: (runs(stack.database_url, period_id) or [[None]])[-1][0], 30, what="a run")
        done = wait_for(lambda: (n := staged_areas(stack.database_url, run_id)) >= 0.4 * AREAS and n, 60, 0.02,
                        "40% of the area tasks staged")
        assert done < 2 * AREAS, "the tally ended before Redis was restarted: make it longer"
        stack.redis.stop()
        time.sleep(2)  # workers and beat see the broker and the result backend gone
        stack.redis.start()
        restarted = time.monotonic()

        first_id, status, error = wait_run_over(stack.database_url, period_id, 90)
        assert first_id == run_id
        if status == "FAILED":  # the runbook: check the cause, retry once
            assert published_rows(stack.database_url, run_id) == dict.fromkeys(published_rows(stack.database_url), 0)
            out = stack.tally("run", str(election_id), str(period_id), "--wait", "--timeout", "90").stdout
            assert "Winners:" in out
        recovery = time.monotonic() - restarted
    reader.check()

    history = runs(stack.database_url, period_id)
    assert [s for _, s, _ in history] in (["COMPLETED"], ["FAILED", "COMPLETED"]), history
    completed = history[-1][0]
    assert results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    for failed_id, _, error in history[:-1]:
        assert published_rows(stack.database_url, failed_id) == {
            "certified_results": 0, "certified_candidate_results": 0, "winner_assignments": 0}
        assert ("tally failed", {"error": error}) in audit_kinds(stack.database_url, failed_id)
    kinds = [k for k, _ in audit_kinds(stack.database_url, completed)]
    assert kinds.count("tally completed") == 1
    assert staged_areas(stack.database_url, completed) == 0
    assert period_status(stack.database_url, period_id) == "CLOSED"
    print(f"staged {done} partials before the restart; outcome {[s for _, s, _ in history]}, "
          f"re-dispatches {kinds.count('tally redispatched')}, done {recovery:.1f} s after the restart")
