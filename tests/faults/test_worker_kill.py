"""Workers SIGKILLed in the middle of area processing, three times in one tally: the tally completes
on the surviving and restarted workers, equals the direct count, and counts no area twice.

The kills take both recovery paths: a killed prefork child (its worker requeues the task at once,
late acks + task_reject_on_worker_lost) and a worker killed whole with its process group (its
reserved message stays unacked in Redis and comes back after TALLY_VISIBILITY_TIMEOUT).

A worker killed whole can also lose a message for good: kombu's Redis transport BRPOPs a message
and only then records it as unacked, so a SIGKILL in between drops it (celery/celery#7950,
#4354). The run then stalls with one area missing, and the reconciler (beat, a stuck deadline
longer than the visibility timeout) re-dispatches it: still one run, one publication."""

from __future__ import annotations

import time

import pytest

from models import entities as m
from tests import factories as f
from tests.support import wait_for

from .helpers import (
    NoPartialResults, audit_kinds, kill_pool_child, published_rows, results, runs, staged_areas, start_worker,
    wait_run_over,
)

pytestmark = pytest.mark.integration

AREAS = 200
BALLOTS = 30_000


@pytest.mark.slow
def test_three_worker_kills_during_area_processing(stack):
    # 50 ms an area: 200 areas take ~5 s on two workers, so each kill lands with areas left. About 150
    # ballots an area: area tasks of about three areas, so a kill also lands mid-task of several areas.
    stack.env.update(TALLY_VISIBILITY_TIMEOUT="10", TALLY_STUCK_AFTER="16", TALLY_RECONCILE_INTERVAL="0.5",
                     TALLY_ADVANCE_INTERVAL="3600", TALLY_TEST_AREA_PACE="0.05", TALLY_BATCH_BALLOTS="500")
    areas = f.split_areas(AREAS, 2 * BALLOTS, seed=3)
    definition = f.election("kill-1", [f.contest("mayor", "instant-runoff", candidates=6)], areas=areas)
    ballots = f.random_ballots(definition, BALLOTS, seed=5)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    start_worker(stack, "w1")
    start_worker(stack, "w2")
    stack.start_beat()

    kills = []  # (staged areas when killed, what was killed)
    with NoPartialResults(stack.database_url) as reader:
        stack.tally("advance")
        run_id = wait_for(lambda: (runs(stack.database_url, period_id) or [[None]])[-1][0], 30, what="a run")

        def kill_at(fraction: float, action) -> None:
            done = wait_for(lambda: (n := staged_areas(stack.database_url, run_id)) >= fraction * AREAS and n,
                            90, 0.02, f"{fraction:.0%} of the areas staged")
            assert done < AREAS, f"the areas were all staged before the kill at {fraction:.0%}: make the tally longer"
            kills.append((done, action()))

        # ~20%: the pool process of w1 dies mid-task; w1 requeues the task and forks a new process.
        kill_at(0.2, lambda: f"pool process {kill_pool_child(stack, 'w1')} of w1")
        # ~50%: w2 dies whole; w3 replaces it. w2's unacked message returns after the visibility timeout.
        kill_at(0.5, lambda: (stack.kill("w2"), start_worker(stack, "w3", wait=False), "worker w2")[-1])
        # ~80%: w1 dies whole; w4 replaces it.
        kill_at(0.8, lambda: (stack.kill("w1"), start_worker(stack, "w4", wait=False), "worker w1")[-1])
        killed_at = time.monotonic()

        run_id, status, error = wait_run_over(stack.database_url, period_id, 90)
        recovery = time.monotonic() - killed_at
    reader.check()

    assert status == "COMPLETED", (error, kills)
    assert [k for k, _ in kills] == sorted(k for k, _ in kills), kills
    # One run, published once, equal to the engine counting every ballot directly.
    assert [(r, s) for r, s, _ in runs(stack.database_url, period_id)] == [(run_id, "COMPLETED")]
    expected = f.direct_count(definition, ballots)
    assert results(stack.database_url, election_id) == expected
    # No area counted twice: participation adds up to exactly the ballots loaded.
    contest = expected["mayor"]
    got = results(stack.database_url, election_id)["mayor"]
    assert got["extended_metrics"]["total_ballots"] == len(ballots)
    totals = got["totals"]
    assert totals["total_votes"] == (
        totals["valid"] + totals["blank"] + totals["invalid_explicit"] + totals["invalid_implicit"]
    ) == contest["totals"]["total_votes"]
    kinds = [k for k, _ in audit_kinds(stack.database_url, run_id)]
    assert kinds.count("tally completed") == 1 and "tally failed" not in kinds
    redispatched = kinds.count("tally redispatched")
    assert published_rows(stack.database_url, run_id)["winner_assignments"] == len(got["winners"])
    assert staged_areas(stack.database_url, run_id) == 0

    # Each area staged exactly once: the run counted every area and read exactly the ballots
    # loaded (an area staged twice would read its ballots twice; one never staged, none).
    with stack.session() as session:
        run = session.get(m.TallyRun, run_id)
        figures = (run.areas_total, run.areas_done, run.ballots_processed, run.dispatches)
    assert figures[:3] == (AREAS, AREAS, len(ballots)), figures
    # The recovery that happened, from the database and the audit log: every kill was absorbed by
    # redelivery (tally.start ran once) or by the reconciler's one re-dispatch (it ran twice).
    # Whether a kill lands mid-task is chance; the outcome must be the same either way.
    assert redispatched <= 1, kinds
    assert figures[3] == 1 + redispatched, (figures, kinds)
    print(f"kills at {kills}; recovered {recovery:.1f} s after the last kill; "
          f"tally.start ran {figures[3]} time(s); reconciler re-dispatches: {redispatched}")
