"""A worker lost whole (SIGKILL of its process group) in the middle of a tally, on each broker, with
Redis as the result backend both times and the deployment's own settings (worker.app, the default
4 h visibility timeout, the default TALLY_STUCK_AFTER of 900 s; leases expiring after 10 s). Area tasks are paced
(tests/faults/paced_app.py) so that the kill at 30% finds areas left on a loaded machine too, and the
kill waits until the worker is inside an area task, before it has counted (holding an unacked message
whose areas are not staged: a worker killed between two tasks, or after its task committed, leaves
nothing to recover):

- RabbitMQ: the lost worker's unacked messages return to the queue as soon as its connection drops,
  so the surviving worker finishes the tally at once, without the reconciler;
- Redis: they stay unacked until the visibility timeout; the lost worker's lease of its area task
  (tasks.leases) expires, and the reconciler re-dispatches the run within a minute, long before
  TALLY_STUCK_AFTER.

Both end COMPLETED, once, equal to the direct count; the times from the kill to completion are
printed (docs/settings.md: which broker to choose)."""

from __future__ import annotations

import subprocess
import time
import uuid

import pytest
from sqlalchemy import select

from models import entities as m
from models.db import session_scope
from scheduler.reconcile import REDISPATCHED, WORKER_LOST
from tests import factories as f
from tests.support import Stack, wait_for

from .helpers import NoPartialResults, audit_kinds, results, runs, staged_areas, start_worker, wait_run_over

pytestmark = pytest.mark.integration

AREAS = 150
BALLOTS = 20_000
LEASE_TIMEOUT = 10
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672"
PACED_APP = "tests.faults.paced_app"


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def rabbitmq_vhost():
    """A RabbitMQ virtual host of the test's own (queues and messages of no one else), deleted after."""
    vhost = f"tally-test-{uuid.uuid4().hex[:10]}"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot make a RabbitMQ vhost with rabbitmqctl: {exc}")
    try:
        yield f"{RABBITMQ}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_stack(request, pg_url, redis_url, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    if request.param == "rabbitmq":
        broker = request.getfixturevalue("rabbitmq_vhost")
    else:
        broker = redis_url
    # About 130 ballots an area: area tasks of about three areas, paced 100 ms an area.
    stack = Stack(pg_url, broker, tmp_path, CELERY_RESULT_BACKEND=redis_url, TALLY_LEASE_TIMEOUT=str(LEASE_TIMEOUT),
                  TALLY_LEASE_RENEW="2", TALLY_RECONCILE_INTERVAL="0.5", TALLY_ADVANCE_INTERVAL="3600", TALLY_TEST_AREA_PACE="0.1",
                  TALLY_TEST_BUSY_DIR=str(busy), TALLY_BATCH_BALLOTS="500")
    stack.kind, stack.busy = request.param, busy
    try:
        yield stack
    finally:
        stack.stop()


@pytest.mark.slow
def test_a_worker_lost_mid_tally_on_each_broker(broker_stack):
    stack = broker_stack
    areas = f.split_areas(AREAS, 2 * BALLOTS, seed=6)
    definition = f.election(f"loss-{stack.kind}", [f.contest("mayor", "instant-runoff", candidates=5)], areas=areas)
    ballots = f.random_ballots(definition, BALLOTS, seed=9)
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    start_worker(stack, "w1", app=PACED_APP)
    start_worker(stack, "w2", app=PACED_APP)
    stack.start_beat()

    with NoPartialResults(stack.database_url) as reader:
        stack.tally("run", str(election_id), str(period_id), "--force")
        run_id = runs(stack.database_url, period_id)[-1][0]
        done = wait_for(lambda: (n := staged_areas(stack.database_url, run_id)) >= 0.3 * AREAS
                        and (stack.busy / "w1").exists() and n, 120, 0.005, "30% of the areas staged, w1 in a task, not counting yet")
        assert done < AREAS, "every area was staged before the kill: make the tally longer"
        stack.kill("w1")  # the whole worker: its executing and reserved messages are unacked
        killed = time.monotonic()
        final_id, status, error = wait_run_over(stack.database_url, period_id, 180)
        elapsed = time.monotonic() - killed
    reader.check()

    assert (final_id, status) == (run_id, "COMPLETED"), error
    assert results(stack.database_url, election_id) == f.direct_count(definition, ballots)
    with session_scope(stack.database_url) as session:  # every task's lease dropped, the lost one's removed
        assert session.scalars(select(m.TaskLease.task)).all() == []
    kinds = [kind for kind, _ in audit_kinds(stack.database_url, run_id)]
    assert REDISPATCHED not in kinds  # never stuck: no wait for TALLY_STUCK_AFTER
    lost = kinds.count(WORKER_LOST)
    print(f"\nbroker {stack.kind}: worker killed at {done}/{AREAS} areas, run COMPLETED {elapsed:.1f} s later"
          f" ({'after the reconciler re-dispatched it: the worker lost' if lost else 'without the reconciler'})")
    if stack.kind == "redis":  # the lost message stays unacked: the expired lease brings the run back
        assert lost == 1 and LEASE_TIMEOUT <= elapsed < 60, (elapsed, kinds)
    else:  # RabbitMQ gives the lost message back at once; its next run takes the lease over
        assert elapsed < 60, (elapsed, kinds)
