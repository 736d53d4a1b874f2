"""SQLAlchemy 2 typed models, the engine/session factory and the Alembic migrations."""

from .db import get_engine, session_scope, upgrade
from .entities import *  # noqa: F401,F403
