import os

from hypothesis import settings

# The server fixtures (PostgreSQL, Redis, workers) live in a plugin that imports the server stack only
# when a test asks for them: the engine's tests run with the engine alone.
pytest_plugins = ["tests.servers"]

# The test process itself runs Celery embedded (in-process); real workers get their own settings.
for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL"):
    os.environ.pop(_name, None)

# The tests' elections are small: a batch of any size loads, but where a test says otherwise
# (TALLY_MIN_BATCH's own tests in tests/pipeline/test_loading.py). Processes a test starts get it too.
os.environ["TALLY_MIN_BATCH"] = "1"

# `--hypothesis-profile ci` (.ci/run): the same examples on every run, so that a CI failure is
# the developer's failure too, each printed with the blob that replays it; nothing written to
# the clone's .hypothesis folder. The number of examples stays each test's own.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True, deadline=None)


def pytest_collection_modifyitems(items):
    """The `slow` tests first, so that a parallel run (pytest-xdist) starts its longest tests at
    once instead of waiting on them at the end; otherwise tests keep their order in the file.
    The cases of a parametrized test go in the order of their ids: pytest-celery parametrizes its
    setup from a set, whose order differs from process to process, and every xdist worker must
    collect the very same list."""
    first: dict[str, int] = {}
    for position, item in enumerate(items):
        first.setdefault(item.nodeid.split("[", 1)[0], position)
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None, first[item.nodeid.split("[", 1)[0]],
                                 item.nodeid))
