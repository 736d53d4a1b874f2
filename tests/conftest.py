import os

# The server fixtures (PostgreSQL, Redis, workers) live in a plugin that imports the server stack only
# when a test asks for them: the engine's tests run with the engine alone.
pytest_plugins = ["tests.servers"]

# The test process itself runs Celery embedded (in-process); real workers get their own settings.
for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DATABASE_URL"):
    os.environ.pop(_name, None)
