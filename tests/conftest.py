import os

import pytest

from tests.support import Stack, own_redis, postgres_database, redis_database

# The test process itself runs Celery embedded (in-process); real workers get their own settings.
for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL"):
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One redis-server of the test session's own, on a free port: no test touches a shared Redis."""
    with own_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="session")
def tally_dispatcher():
    """Runs started in the test process are sent as the `tally` commands send them (Celery embedded)."""
    from tasks.dispatch import install

    install()


@pytest.fixture
def pg_url(tally_dispatcher):
    with postgres_database() as url:
        yield url


@pytest.fixture
def redis_url(redis_server):
    with redis_database(redis_server.url) as url:
        yield url


@pytest.fixture
def stack(pg_url, redis_url, tmp_path):
    """Real PostgreSQL + Redis for this test; start workers/beat with stack.start_worker(...)."""
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
