"""Expected failures of the real `tally` command: one line naming the cause and the next step, the
exit status of docs/cli.md's table, no traceback (unless TALLY_DEBUG=1); the embedded SQLite file
is created and migrated on first use; a closed pipe (`| head`) ends quietly."""

from __future__ import annotations

import os
import subprocess
import uuid

import psycopg
import pytest

from models.db import ensure_schema
from tests import factories as f
from tests.support import BIN, PG_ADMIN, free_port, write_json

pytestmark = pytest.mark.integration


def tally(*args: str, tmp_path, stdout=subprocess.PIPE, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TALLY_", "DATABASE_URL"))}
    return subprocess.run([str(BIN / "tally"), *args], env={**base, "TALLY_HOME": str(tmp_path / "home"), **env},
                          cwd=tmp_path, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("url, status, words", [
    ("postgres://someone@127.0.0.1/db", 2, ["DATABASE_URL postgres://someone@127.0.0.1/db", "check DATABASE_URL"]),
    ("not a url", 2, ["is not a database URL", "check DATABASE_URL"]),
    ("postgresql+psycopg://postgres:pw@127.0.0.1:{free_port}/db", 3,  # the port filled in when the test runs
     ["Connection refused", "check DATABASE_URL", "postgres:***@"]),
    ("postgresql+psycopg://postgres@127.0.0.1:5432/tally_no_such_db", 3, ['"tally_no_such_db" does not exist']),
])
def test_database_unreachable_or_wrong_url(tmp_path, url, status, words):
    url = url.replace("{free_port}", str(free_port()))
    result = tally("status", "1", "1", tmp_path=tmp_path, DATABASE_URL=url)
    line = one_line(result)
    assert result.returncode == status, result
    for word in words:
        assert word in line, line
    assert "pw@" not in line  # never the password


def test_debug_shows_the_traceback(tmp_path):
    result = tally("status", "1", "1", tmp_path=tmp_path, DATABASE_URL="postgres://x@127.0.0.1/db", TALLY_DEBUG="1")
    assert result.returncode == 1 and "Traceback" in result.stderr and "NoSuchModuleError" in result.stderr


@pytest.mark.slow
def test_postgresql_not_migrated_says_run_db_upgrade(tmp_path):
    name = f"tally_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"
        result = tally("status", "1", "1", tmp_path=tmp_path, DATABASE_URL=url)
        assert result.returncode == 3
        assert one_line(result).endswith("run: tally db upgrade")
        assert tally("db", "upgrade", tmp_path=tmp_path, DATABASE_URL=url).returncode == 0
        after = tally("status", "1", "1", tmp_path=tmp_path, DATABASE_URL=url)
        assert after.returncode == 2 and one_line(after) == "error: Invalid electionId"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_embedded_sqlite_needs_no_migration_step(tmp_path):
    definition = f.election("first-use", [f.contest("mayor", "plurality-at-large")])
    loaded = tally("load", "--definition", str(write_json(tmp_path / "d.json", definition)), tmp_path=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    sqlite = f"sqlite:///{tmp_path / 'home' / 'tally.sqlite3'}"
    ensure_schema(sqlite)  # at head already: nothing to do, nothing raised


def test_disk_full_is_one_line(tmp_path):
    document = {"contest": {"id": "c", "method": "plurality-at-large", "seats": 1,
                            "candidates": [{"id": "a"}, {"id": "b"}]}, "ballots": [{"marks": [["a", 1]]}]}
    path = write_json(tmp_path / "count.json", document)
    with open("/dev/full", "w") as full:
        result = tally("count", str(path), tmp_path=tmp_path, stdout=full)
    assert result.returncode == 3
    line = one_line(result)
    assert line.startswith("error: disk full") and "free some space" in line


@pytest.mark.slow
def test_result_table_piped_to_head_ends_quietly(tmp_path):
    definition = f.election("pipe-1", [f.contest("mayor", "plurality-at-large")], areas=f.area_tree((10, 20)))
    home = {"TALLY_HOME": str(tmp_path / "home")}
    d = write_json(tmp_path / "d.json", definition)
    b = write_json(tmp_path / "b.json", {"election": "pipe-1", "period": "main",
                                         "ballots": f.random_ballots(definition, 300, seed=3)})
    assert tally("load", "--definition", str(d), "--ballots", str(b), tmp_path=tmp_path).returncode == 0
    assert tally("run", "1", "1", "--force", tmp_path=tmp_path).returncode == 0
    script = f"{BIN / 'tally'} results 1 --format json | head -n 1"
    piped = subprocess.run(["bash", "-c", script], env={**os.environ, **home}, cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert piped.stdout == "{\n"
    assert piped.stderr == "", piped.stderr
