import pytest

from tests.support import Stack, own_redis


@pytest.fixture
def own_stack(pg_url, tmp_path):
    """Like `stack`, but on a redis-server of this test's own (stack.redis), which the test may stop."""
    with own_redis(tmp_path) as server:
        s = Stack(pg_url, server.url, tmp_path)
        s.redis = server
        try:
            yield s
        finally:
            s.stop()
