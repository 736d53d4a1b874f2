"""Loading through the admin API (api/uploads.py), in-process on real PostgreSQL: an election from a
definition, then a period's ballots as a ballots file or a CVR export (a .zip for a folder export),
each streamed to disk, capped, loaded as one batch with the CLI's checks and refusals."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
import stat
import subprocess
import time
import warnings
import zipfile

import pytest
from sqlalchemy import func, select

from config.settings import load_settings
from models import entities as m
from models.db import session_scope
from tests.cvr.test_whole_export import _dominion
from tests.factories import contest, election

from .conftest import assert_error

pytestmark = pytest.mark.integration

ELECTIONS = "/api/v1/admin/elections"


@pytest.fixture(scope="module")
def uploads(db, tmp_path_factory):
    """The app with its scratch folder in a temporary TALLY_HOME and a 2 MB upload cap."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*")
        from fastapi.testclient import TestClient
    from api.app import create_app

    settings = dataclasses.replace(load_settings(), home=tmp_path_factory.mktemp("home"), upload_max_bytes=2 << 20)
    with TestClient(create_app(settings)) as client:
        client.home = settings.home
        yield client


def _definition(key: str) -> dict:
    return election(key, [contest("mayor", "instant-runoff", candidates=3)], seal="manual",
                    areas=[{"id": "root", "name": "Root", "census": 100}], ends_at="2999-01-01T00:00:00Z")


def _ids(key: str) -> tuple[int, int]:
    with session_scope() as session:
        row = session.scalar(select(m.Election).where(m.Election.key == key))
        return row.id, row.periods[0].id


def _ballots_url(key: str) -> str:
    election_id, period_id = _ids(key)
    return f"{ELECTIONS}/{election_id}/voting-periods/{period_id}/ballots"


def test_a_definition_then_a_ballots_file_load_as_the_cli_loads_them(uploads, admin):
    answer = uploads.post(ELECTIONS, content=json.dumps(_definition("up-1")), headers=admin)
    assert answer.status_code == 201, answer.text
    assert answer.json()["electionKey"] == "up-1" and answer.json()["contests"] == 1
    again = uploads.post(ELECTIONS, content=json.dumps(_definition("up-1")), headers=admin)
    assert again.status_code == 200 and again.json()["unchanged"] is True
    records = [{"contest": "mayor", "area": "root", "marks": [[f"mayor-c{i % 3 + 1}", 1]]} for i in range(10)]
    records.append({"contest": "mayor", "area": "root", "marks": [["nobody", 1]]})
    body = json.dumps({"election": "up-1", "period": "main", "ballots": records})
    loaded = uploads.post(_ballots_url("up-1"), content=body, headers=admin)
    assert loaded.status_code == 201, loaded.text
    assert loaded.json()["loaded"] == 11 and loaded.json()["storedRaw"] == 1 and loaded.json()["contests"] == ["mayor"]
    with session_scope() as session:
        batch = session.get(m.LoadBatch, loaded.json()["batchId"])
        assert batch.records == 11
    duplicate = uploads.post(_ballots_url("up-1"), content=body, headers=admin)
    assert duplicate.status_code == 400 and "already loaded" in duplicate.json()["message"], duplicate.text
    assert list(uploads.home.joinpath("uploads").iterdir()) == []  # scratch files removed


def test_a_ballots_file_for_another_period_is_refused(uploads, admin):
    uploads.post(ELECTIONS, content=json.dumps(_definition("up-2")), headers=admin)
    body = json.dumps({"election": "up-1", "period": "main", "ballots": []})
    assert_error(uploads.post(_ballots_url("up-2"), content=body, headers=admin), 400,
                 "ballots: the file is for election 'up-1', period 'main'; this is 'up-2', period 'main'")


def _zipped(folder, extra: dict | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, f"export/{path.relative_to(folder)}")
        for name, info in (extra or {}).items():
            archive.writestr(info if isinstance(info, zipfile.ZipInfo) else name, b"x" if isinstance(info, zipfile.ZipInfo) else info)
    return buffer.getvalue()


def test_a_zipped_dominion_export_loads_every_contest(uploads, admin, tmp_path):
    assert uploads.post(ELECTIONS, content=json.dumps(_definition("up-3")), headers=admin).status_code == 201
    _dominion(tmp_path / "export")
    answer = uploads.post(_ballots_url("up-3") + "?provider=dominion", content=_zipped(tmp_path / "export"), headers=admin)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["loaded"] == 105 and body["defined"] == ["1", "2"] and body["areas"] == 4


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize("extra, message", [
    ({"../../escape.json": b"{}"}, "upload: ../../escape.json would be written outside the archive's folder: refused"),
    ({"export/CvrExport_9.json": _symlink("export/CvrExport_9.json")},
     "upload: export/CvrExport_9.json is not a regular file (a symlink or a device): refused"),
])
def test_a_hostile_archive_is_refused_and_loads_nothing(uploads, admin, tmp_path, extra, message):
    key = f"up-hostile-{len(message)}"
    uploads.post(ELECTIONS, content=json.dumps(_definition(key)), headers=admin)
    _dominion(tmp_path / "export")
    answer = uploads.post(_ballots_url(key) + "?provider=dominion", content=_zipped(tmp_path / "export", extra),
                          headers=admin)
    assert_error(answer, 400, message)
    with session_scope() as session:
        election_id, _ = _ids(key)
        assert session.scalar(select(func.count()).select_from(m.LoadBatch).where(m.LoadBatch.election_id == election_id)) == 0


def test_a_cvr_error_names_the_file_as_uploaded(uploads, admin):
    uploads.post(ELECTIONS, content=json.dumps(_definition("up-4")), headers=admin)
    answer = uploads.post(_ballots_url("up-4") + "?provider=cdf", content=b'{"CVR": [{"x": }]}', headers=admin)
    assert_error(answer, 400, "upload: CVR 1: invalid JSON: Expecting value")


def test_a_body_past_the_cap_is_refused_declared_or_streamed(uploads, admin):
    uploads.post(ELECTIONS, content=json.dumps(_definition("up-5")), headers=admin)
    big = b" " * (3 << 20)
    assert_error(uploads.post(_ballots_url("up-5"), content=big, headers=admin), 413,
                 f"Request body larger than {2 << 20} bytes (TALLY_UPLOAD_MAX_BYTES)")

    def chunks():  # no Content-Length: the route counts as it writes
        for _ in range(3):
            yield b" " * (1 << 20)

    assert_error(uploads.post(_ballots_url("up-5"), content=chunks(), headers=admin), 413,
                 f"Request body larger than {2 << 20} bytes (TALLY_UPLOAD_MAX_BYTES)")


def test_an_upload_without_a_valid_token_is_refused_before_its_body_is_read(uploads):
    assert_error(uploads.post(ELECTIONS, content=b"{}"), 401)


def test_the_upload_routes_are_documented(uploads):
    paths = uploads.get("/openapi.json").json()["paths"]
    assert "requestBody" in paths[ELECTIONS]["post"]
    ballots = paths["/api/v1/admin/elections/{electionId}/voting-periods/{votingPeriodId}/ballots"]["post"]
    assert {p["name"] for p in ballots["parameters"]} >= {"provider", "contest", "options", "allowDuplicate"}
    assert "413" in ballots["responses"]


@pytest.fixture(scope="module")
def later(db, tmp_path_factory):
    """The app answering every upload past 100 bytes with 202 and a job."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*httpx.*")
        from fastapi.testclient import TestClient
    from api.app import create_app

    settings = dataclasses.replace(load_settings(), home=tmp_path_factory.mktemp("home"), upload_sync_bytes=100)
    with TestClient(create_app(settings)) as client:
        yield client


def _finished(client, admin, poll: str) -> dict:
    for _ in range(200):
        job = client.get(poll, headers=admin).json()
        if job["status"] in ("DONE", "FAILED"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"the job did not finish: {job}")


def test_a_large_upload_is_answered_202_and_its_job_tells_how_it_ended(later, admin):
    later.post(ELECTIONS, content=json.dumps(_definition("up-6")), headers=admin)
    records = [{"contest": "mayor", "area": "root", "marks": [[f"mayor-c{i % 3 + 1}", 1]]} for i in range(50)]
    answer = later.post(_ballots_url("up-6"), content=json.dumps({"election": "up-6", "period": "main", "ballots": records}),
                        headers=admin)
    assert answer.status_code == 202, answer.text
    job = _finished(later, admin, answer.json()["poll"])
    assert job["status"] == "DONE" and job["result"]["loaded"] == 50 and job["error"] is None, job
    wrong = later.post(_ballots_url("up-6"), content=json.dumps({"election": "elsewhere", "period": "main", "ballots": records}),
                       headers=admin)
    job = _finished(later, admin, wrong.json()["poll"])
    assert job["status"] == "FAILED" and job["error"].startswith("ballots: the file is for election 'elsewhere'"), job
    assert_error(later.get("/api/v1/admin/load-jobs/999999", headers=admin), 404, "no load job 999999")


def test_a_job_whose_api_process_ended_reads_failed(later, admin):
    from services.loading import jobs

    later.post(ELECTIONS, content=json.dumps(_definition("up-7")), headers=admin)
    ended = _dead_pid()
    election_id, period_id = _ids("up-7")
    with session_scope() as session:
        row = m.LoadJob(election_id=election_id, voting_period_id=period_id, status="RUNNING", host=socket.gethostname(),
                        pid=ended)
        session.add(row)
        session.flush()
        job_id = row.id
    job = later.get(f"/api/v1/admin/load-jobs/{job_id}", headers=admin).json()
    assert job["status"] == "FAILED" and job["error"] == jobs.ENDED


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_small_batch_is_refused_unless_asked_for(uploads, admin, monkeypatch):
    """Three ballots, published, show how those three voted: below TALLY_MIN_BATCH the upload is refused
    naming the setting and the parameter, loads nothing, and loads with smallBatch=true."""
    monkeypatch.setenv("TALLY_MIN_BATCH", "10")
    uploads.post(ELECTIONS, content=json.dumps(_definition("up-small")), headers=admin)
    records = [{"contest": "mayor", "area": "root", "marks": [[f"mayor-c{i + 1}", 1]]} for i in range(3)]
    body = json.dumps({"election": "up-small", "period": "main", "ballots": records})
    refused = uploads.post(_ballots_url("up-small"), content=body, headers=admin)
    assert_error(refused, 400)
    assert "a batch of 3 ballot(s) is smaller than TALLY_MIN_BATCH (10)" in refused.json()["message"]
    assert "smallBatch=true" in refused.json()["message"]
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(m.LoadBatch).where(
            m.LoadBatch.election_id == _ids("up-small")[0])) == 0
    loaded = uploads.post(_ballots_url("up-small") + "?smallBatch=true", content=body, headers=admin)
    assert loaded.status_code == 201 and loaded.json()["loaded"] == 3, loaded.text
