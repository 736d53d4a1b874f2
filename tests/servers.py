"""pytest plugin: the fixtures of the real servers (a PostgreSQL database, the session's redis-server, a
Redis DB, the `stack` of processes), registered by the root conftest. Each imports the server stack
(tests.support: psycopg, redis, Celery, SQLAlchemy) when a test first asks for it, not when the plugin
loads, so a test that asks for none (the engine's) imports none of it: tests/test_architecture.py
runs tests/engine with that stack made unimportable."""

import pytest


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server of the test session's own, on a free port: no test touches a shared Redis."""
    from tests.support import own_redis

    with own_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def tally_dispatcher():
    """Runs started in the test process are sent as the `tally` commands send them (Celery embedded)."""
    from tasks.dispatch import install

    install()


@pytest.fixture
def pg_url(tally_dispatcher):
    from tests.support import postgres_database

    with postgres_database() as url:
        yield url


@pytest.fixture
def redis_url(redis_server):
    from tests.support import redis_database

    with redis_database(redis_server.url) as url:
        yield url


@pytest.fixture
def stack(pg_url, redis_url, tmp_path):
    """Real PostgreSQL + Redis for this test; start workers/beat with stack.start_worker(...)."""
    from tests.support import Stack

    s = Stack(pg_url, redis_url, tmp_path)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def embedded_db(pg_url, monkeypatch):
    """The service layer in-process (Celery eager) on a real PostgreSQL database."""
    monkeypatch.setenv("DATABASE_URL", pg_url)
    return pg_url
