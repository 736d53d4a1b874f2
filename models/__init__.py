"""SQLAlchemy 2 typed models, the engine/session factory and the Alembic migrations."""

from .entities import *  # noqa: F401,F403
