"""The pipeline tests' shared fixture: a database owned by an owner role, used by an application role."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from models.db import get_engine, upgrade
from tests.support import PG_ADMIN


@pytest.fixture
def roles():
    """A database owned by a fresh owner role (not a superuser), migrated by it, with a fresh
    application role granted by `tally db upgrade`; everything dropped afterwards."""
    tag = uuid.uuid4().hex[:10]
    owner, app, name = f"tally_owner_{tag}", f"tally_app_{tag}", f"tally_roles_{tag}"
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "")
    host = base.split("@", 1)[-1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN')
        conn.execute(f'CREATE ROLE "{app}" LOGIN')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as db:
            # PostgreSQL 15: the public schema belongs to pg_database_owner, i.e. the owner role
            db.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    owner_url = f"postgresql+psycopg://{owner}@{host}/{name}"
    app_url = f"postgresql+psycopg://{app}@{host}/{name}"
    try:
        upgrade(owner_url, app_role=app)
        yield owner_url, app_url, app
    finally:
        for url in (owner_url, app_url):
            get_engine(url).dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{app}"')
            conn.execute(f'DROP ROLE IF EXISTS "{owner}"')
