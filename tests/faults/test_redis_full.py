"""Redis full (a redis-server of the test's own, `noeviction`, its maxmemory reached): the tally
request is refused cleanly (the reason named, the run waiting in the dispatch outbox, nothing
published, the period CLOSED), the workers keep running, and once memory is back a retry completes;
the tally then leaves no per-area result and no chord state in Redis."""

from __future__ import annotations

import time

import pytest
import redis

from tests import factories as f
from tests.support import Stack, own_redis, wait_for

from .helpers import period_status, published_rows, runs, start_worker

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_a_full_redis_refuses_the_tally_cleanly_and_a_retry_completes(pg_url, tmp_path):
    areas = f.split_areas(30, 3_000, seed=2)
    definition = f.election("redis-full", [f.contest("mayor", "instant-runoff", candidates=4)], areas=areas)
    election_id, period_id = f.load(pg_url, definition, f.random_ballots(definition, 3_000, seed=3))
    with own_redis(tmp_path) as server:
        stack = Stack(pg_url, server.url, tmp_path, TALLY_ADVANCE_INTERVAL="3600")
        client = redis.Redis.from_url(server.url)
        try:
            start_worker(stack, "w1", concurrency=2)
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", used // 2)  # past full: nothing more can be written
            out = stack.tally("run", str(election_id), str(period_id), "--force", check=False)
            # refused at once, saying why; the run waits in the outbox with nothing half-started
            assert out.returncode != 0 and "maxmemory" in out.stderr, out
            ((run_id, status, _error),) = runs(pg_url, period_id)
            assert status == "PENDING"
            assert published_rows(pg_url, run_id) == dict.fromkeys(published_rows(pg_url), 0)
            assert period_status(pg_url, period_id) == "CLOSED"
            time.sleep(5)  # the worker meets the full Redis too (heartbeats, unacked restore)
            assert stack.processes["w1"].poll() is None, "the worker exited"

            client.config_set("maxmemory", 0)  # memory is back
            assert stack.processes["w1"].poll() is None, "the worker exited"
            stack.tally("run", str(election_id), str(period_id))  # the runbook's retry: sends the waiting run
            rows = wait_for(lambda: (r := runs(pg_url, period_id)) and r[-1][1] in ("COMPLETED", "FAILED") and r,
                            60, what="the retry to end")
            assert [s for _, s, _ in rows] == ["COMPLETED"], rows
            # what the tally left in Redis: a few results of its own steps, none per area, no chord state
            left = client.keys("*")
            meta = [k for k in left if k.startswith(b"celery-task-meta-")]
            assert len(meta) < 10, (len(meta), "results kept for 30 area tasks")
            assert not [k for k in left if k.endswith((b".j", b".t"))], left  # the chord's join list and counter
            print(f"\nafter the tally of 30 areas Redis holds {len(left)} keys: {sorted(left)}")
        finally:
            stack.stop()
            client.close()
