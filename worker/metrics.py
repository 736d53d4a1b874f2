"""Prometheus metrics for operators, read from the database at scrape time.

The database is the truth about a tally (the finalize commit publishes it, the staged rows are its
progress), so the metrics are computed from it on each scrape by one exporter process, however
many workers run and however often they restart: no per-process counters, no multiprocess mode.

- `tally_runs{status}`: runs by status (gauge).
- `tally_areas_processed_total`, `tally_ballots_counted_total`: over published runs (COMPLETED,
  and ROLLED_BACK, whose count happened); they only grow.
- `tally_run_areas_done{run_id}`, `tally_run_areas_total{run_id}`, `tally_run_ballots_processed{run_id}`:
  progress of each live (PENDING/RUNNING) run, from its staged rows.
- `tally_duration_seconds`: histogram of started -> completed over published runs.
- `tally_redis_used_memory_bytes{server}`, `tally_redis_maxmemory_bytes{server}`,
  `tally_redis_memory_used_ratio{server}` (used / maxmemory), `tally_redis_up{server}`: the Redis
  servers of the broker and the result backend. With `noeviction` a full Redis refuses writes, so
  alert well before the ratio reaches 1 (docs/settings.md, Redis memory).

Serve with `tally metrics --serve --port 9808` (cli/metrics.py), or print once with `tally metrics`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import redis
from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from models import entities as m
from models.db import session_scope
from config.settings import load_settings

DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)
PUBLISHED = (m.RunStatus.COMPLETED, m.RunStatus.ROLLED_BACK)
LIVE = (m.RunStatus.PENDING, m.RunStatus.RUNNING)


class TallyCollector(Collector):
    def __init__(self, database_url: str | None = None):
        self.database_url = database_url

    def describe(self):
        return []  # collected from the database on each scrape; nothing to check at registration

    def collect(self):
        with session_scope(self.database_url) as session:
            by_status = dict(session.execute(select(m.TallyRun.status, func.count()).group_by(m.TallyRun.status)).all())
            areas, ballots = session.execute(
                select(func.coalesce(func.sum(m.TallyRun.areas_done), 0),
                       func.coalesce(func.sum(m.TallyRun.ballots_processed), 0))
                .where(m.TallyRun.status.in_(PUBLISHED))
            ).one()
            spans = session.execute(
                select(m.TallyRun.started_at, m.TallyRun.completed_at).where(
                    m.TallyRun.status.in_(PUBLISHED), m.TallyRun.started_at.is_not(None),
                    m.TallyRun.completed_at.is_not(None))
            ).all()
            live = session.execute(
                select(m.TallyRun.id, m.TallyRun.areas_total, func.count(m.StagedAreaResult.area_id),
                       func.coalesce(func.sum(m.StagedAreaResult.ballots_read), 0))
                .outerjoin(m.StagedAreaResult, m.StagedAreaResult.run_id == m.TallyRun.id)
                .where(m.TallyRun.status.in_(LIVE))
                .group_by(m.TallyRun.id, m.TallyRun.areas_total)
                .order_by(m.TallyRun.id)
            ).all()

        runs = GaugeMetricFamily("tally_runs", "Tally runs by status", labels=["status"])
        for status in m.RunStatus:
            runs.add_metric([status.value], by_status.get(status, 0))
        yield runs
        yield CounterMetricFamily("tally_areas_processed", "Area tasks counted in published tally runs",
                                  value=int(areas))
        yield CounterMetricFamily("tally_ballots_counted", "Ballot records counted in published tally runs",
                                  value=int(ballots))

        durations = [(m.aware(done) - m.aware(start)).total_seconds() for start, done in spans]
        buckets = [(str(float(b)), sum(1 for d in durations if d <= b)) for b in DURATION_BUCKETS]
        buckets.append(("+Inf", len(durations)))
        yield HistogramMetricFamily("tally_duration_seconds", "Published tally runs, started to completed",
                                    buckets=buckets, sum_value=sum(durations))

        done = GaugeMetricFamily("tally_run_areas_done", "Areas staged so far by a live run", labels=["run_id"])
        total = GaugeMetricFamily("tally_run_areas_total", "Areas a live run has to count", labels=["run_id"])
        read = GaugeMetricFamily("tally_run_ballots_processed", "Ballot records read so far by a live run",
                                 labels=["run_id"])
        for run_id, areas_total, areas_done, ballots_read in live:
            done.add_metric([str(run_id)], areas_done)
            total.add_metric([str(run_id)], areas_total or 0)
            read.add_metric([str(run_id)], int(ballots_read))
        yield done
        yield total
        yield read


class RedisMemoryCollector(Collector):
    """Memory of the Redis servers Celery uses (broker, result backend), from INFO at scrape time."""

    def __init__(self, urls: list[str]):
        servers: dict[str, str] = {}
        for url in urls:
            if url and url.startswith(("redis://", "rediss://")):
                parsed = urlsplit(url)
                servers.setdefault(f"{parsed.hostname}:{parsed.port or 6379}", url)
        self.servers = servers

    def describe(self):
        return []

    def collect(self):
        up = GaugeMetricFamily("tally_redis_up", "The Redis server answered the scrape", labels=["server"])
        used = GaugeMetricFamily("tally_redis_used_memory_bytes", "Redis used_memory", labels=["server"])
        limit = GaugeMetricFamily("tally_redis_maxmemory_bytes", "Redis maxmemory (0: no limit)", labels=["server"])
        ratio = GaugeMetricFamily("tally_redis_memory_used_ratio", "used_memory / maxmemory (when there is a limit)",
                                  labels=["server"])
        for server, url in self.servers.items():
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            try:
                info = client.info("memory")
            except redis.RedisError:
                up.add_metric([server], 0)
                continue
            finally:
                client.close()
            up.add_metric([server], 1)
            used.add_metric([server], info["used_memory"])
            limit.add_metric([server], info.get("maxmemory", 0))
            if info.get("maxmemory"):
                ratio.add_metric([server], info["used_memory"] / info["maxmemory"])
        yield from (up, used, limit, ratio)


def registry(database_url: str | None = None) -> CollectorRegistry:
    settings = load_settings()
    reg = CollectorRegistry(auto_describe=False)
    reg.register(TallyCollector(database_url))
    reg.register(RedisMemoryCollector([settings.broker_url, settings.result_backend]))
    return reg


def render(database_url: str | None = None) -> str:
    """The metrics once, in Prometheus' text format."""
    return generate_latest(registry(database_url)).decode()


def serve(port: int, address: str = "127.0.0.1", database_url: str | None = None):
    """An HTTP exporter (GET /metrics) in a background thread; returns (server, thread)."""
    return start_http_server(port, addr=address, registry=registry(database_url))
