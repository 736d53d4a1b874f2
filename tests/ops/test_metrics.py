"""Prometheus metrics read from the database: runs by status, areas and ballots of published runs,
tally durations, live runs' progress; served over HTTP by `python -m cli.metrics --serve`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from models import entities as m
from models.db import session_scope
from services.pipeline.area import process_areas
from services.lifecycle.commands import RequestTally
from tests import factories as f
from tests.support import wait_for
from worker import metrics

pytestmark = pytest.mark.integration


def _samples(text: str) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _completed(url: str) -> tuple[int, int, int]:
    definition = f.election("metrics-done", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 400, seed=8)
    election_id, period_id = f.load(url, definition, ballots)
    with session_scope(url) as session:  # Celery embedded: the tally runs once the request commits
        run, _ = RequestTally(election_id, period_id, force=True, by="test").run(session)
        run_id = run.id
    with session_scope(url) as session:
        run = session.get(m.TallyRun, run_id)
        assert run.status == m.RunStatus.COMPLETED
        return run_id, run.areas_done, run.ballots_processed


def _running(url: str, staged: int) -> tuple[int, int, int]:
    definition = f.election("metrics-live", [f.contest("mayor", "plurality-at-large", candidates=3)])
    ballots = f.random_ballots(definition, 300, seed=6)
    election_id, period_id = f.load(url, definition, ballots)
    run_id, plan = f.started_run(url, election_id, period_id)
    area_ids = [a for batch in plan[0] for a in batch.area_ids]
    with session_scope(url) as session:
        read = sum(a.ballots for a in process_areas(session, run_id, plan[0][0].contest_id, area_ids[:staged]))
    return run_id, len(area_ids), read


def test_metrics_from_the_database(embedded_db):
    empty = _samples(metrics.render(embedded_db))
    assert empty[("tally_runs", (("status", "COMPLETED"),))] == 0
    assert empty[("tally_duration_seconds_count", ())] == 0

    done_id, areas_done, ballots = _completed(embedded_db)
    live_id, areas_total, read = _running(embedded_db, staged=4)
    samples = _samples(metrics.render(embedded_db))

    assert {status: samples[("tally_runs", (("status", status),))] for status in
            ("PENDING", "RUNNING", "COMPLETED", "FAILED", "ROLLED_BACK")} == {
        "PENDING": 0, "RUNNING": 1, "COMPLETED": 1, "FAILED": 0, "ROLLED_BACK": 0}
    assert areas_done == 13 and ballots == 400
    assert samples[("tally_areas_processed_total", ())] == areas_done
    assert samples[("tally_ballots_counted_total", ())] == ballots
    assert samples[("tally_duration_seconds_count", ())] == 1
    assert samples[("tally_duration_seconds_bucket", (("le", "+Inf"),))] == 1
    assert 0 <= samples[("tally_duration_seconds_sum", ())] < 60
    live = (("run_id", str(live_id)),)
    assert samples[("tally_run_areas_done", live)] == 4
    assert samples[("tally_run_areas_total", live)] == areas_total == 13
    assert samples[("tally_run_ballots_processed", live)] == read > 0
    assert ("tally_run_areas_done", (("run_id", str(done_id)),)) not in samples


def test_metrics_exporter_over_http(embedded_db, tmp_path):
    _completed(embedded_db)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TALLY_"))}
    env["DATABASE_URL"] = embedded_db
    proc = subprocess.Popen([sys.executable, "-m", "cli.metrics", "--serve", f"--port={port}"], env=env,
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def scrape():
            if proc.poll() is not None:
                raise RuntimeError(f"exporter exited: {proc.stdout.read()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    return response.read().decode()
            except OSError:
                return None

        samples = _samples(wait_for(scrape, 30, what="the exporter"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert samples[("tally_runs", (("status", "COMPLETED"),))] == 1
    assert samples[("tally_ballots_counted_total", ())] == 400



def test_redis_memory_metrics_warn_before_a_full_redis(embedded_db, redis_server, monkeypatch):
    """The Redis of the broker and result backend: used memory, its limit, their ratio (the alert's
    input), and whether it answered."""
    import redis as redis_client

    client = redis_client.Redis.from_url(redis_server.url)
    server = f"127.0.0.1:{redis_server.port}"
    monkeypatch.setenv("CELERY_BROKER_URL", redis_server.url)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", "redis://127.0.0.1:1/0")  # nothing listens there
    limit = int(client.info("memory")["used_memory"]) * 4
    client.config_set("maxmemory", limit)
    try:
        before = _samples(metrics.render(embedded_db))
        for i in range(12):  # to ~75% of the limit, in pieces (a command's own buffer counts too)
            client.set(f"tally-test-filler-{i}", b"x" * (limit * 7 // 200))
        after = _samples(metrics.render(embedded_db))
    finally:
        client.delete(*(f"tally-test-filler-{i}" for i in range(12)))
        client.config_set("maxmemory", 0)
        client.close()
    key = (("server", server),)
    assert before[("tally_redis_up", key)] == 1
    assert before[("tally_redis_maxmemory_bytes", key)] == limit
    assert 0 < before[("tally_redis_memory_used_ratio", key)] < 0.5
    assert after[("tally_redis_memory_used_ratio", key)] > 0.6  # an alert at 0.8 would be near
    assert after[("tally_redis_used_memory_bytes", key)] > before[("tally_redis_used_memory_bytes", key)] + limit // 3
    assert before[("tally_redis_up", (("server", "127.0.0.1:1"),))] == 0
