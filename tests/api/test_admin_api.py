"""The admin tally API through HTTP, in-process on real PostgreSQL with Celery eager: every row of
the design note's error table, every response shape, authentication and input validation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import services.lifecycle.dispatch
from models import entities as m
from models.db import session_scope
from services import tokens
from services.lifecycle import runs

from .conftest import BASE, add_period, assert_error, bearer, make_election, make_token

pytestmark = pytest.mark.integration

RUN_FIELDS = {"tallyRunId", "status", "electionId", "votingPeriodId", "totalPositionsTallied", "totalWinnersApplied",
              "tiesDetectedCount", "serverTime", "message"}
STATUS_FIELDS = {"tallyExists", "tallyRunId", "status", "electionId", "votingPeriodId", "startedAt", "completedAt",
                 "startedByPersonId", "completedByPersonId", "remarks", "totalPositionsCertified",
                 "totalWinnersApplied", "progress"}
ROLLBACK_FIELDS = {"tallyRunId", "status", "winnersRemoved", "rolledBackAt", "message"}
ENDPOINTS = [("post", "/run"), ("get", "/status"), ("post", "/rollback?reason=x")]


def call(client, method, url, headers=None, **kw):
    return getattr(client, method)(url, headers=headers or {}, **kw)


def test_new_run_answers_202_pending_then_idempotent_200(client, admin, election, db):
    response = client.post(election.base() + "/run", json={"remarks": "Final tally", "force": True}, headers=admin)
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == RUN_FIELDS
    assert body["status"] == "PENDING" and body["message"] == "Tally started"
    assert (body["electionId"], body["votingPeriodId"]) == (election.id, election.period_id)
    assert body["serverTime"].endswith("Z")
    run_id = body["tallyRunId"]
    # Celery is eager here: the tally has completed by now.
    again = client.post(election.base() + "/run", json={"remarks": "again", "force": False}, headers=admin)
    assert again.status_code == 200, again.text
    second = again.json()
    assert set(second) == RUN_FIELDS
    assert second["message"] == "Tally already completed (idempotent)"
    assert second["tallyRunId"] == run_id and second["status"] == "COMPLETED"
    assert second["totalPositionsTallied"] == 3
    assert second["totalWinnersApplied"] == 3 + 1 + 2
    assert isinstance(second["tiesDetectedCount"], int)
    with session_scope(db) as session:
        assert len(session.scalars(select(m.TallyRun).where(m.TallyRun.election_id == election.id)).all()) == 1
        assert len(session.scalars(select(m.WinnerAssignment).where(m.WinnerAssignment.run_id == run_id)).all()) == 6
        kinds = session.scalars(
            select(m.AuditEvent.kind).where(m.AuditEvent.election_id == election.id).order_by(m.AuditEvent.seq)
        ).all()
    assert kinds.count("tally completed") == 1
    assert kinds[:3] == ["ballots loaded", "voting period closed", "ballots sealed"]  # force closed and sealed it


def test_run_without_body_uses_defaults(client, admin, election):
    assert_error(client.post(election.base() + "/run", headers=admin), 400, runs.NOT_CLOSED)


def test_status_shapes_before_and_after(client, admin, election):
    empty = client.get(election.base() + "/status", headers=admin)
    assert empty.status_code == 200
    body = empty.json()
    assert set(body) == STATUS_FIELDS | {"period"}
    assert body["tallyExists"] is False
    assert all(body[k] is None for k in STATUS_FIELDS - {"tallyExists"})
    # before any run the period still says where it stands (issue 27: all null said nothing)
    period = body["period"]
    assert {k: period[k] for k in ("name", "state", "sealedAt", "ballots")} == {
        "name": "main", "state": "OPEN", "sealedAt": None, "ballots": 360}  # ended, not yet closed by advance
    assert period["endsAt"].endswith("Z")

    client.post(election.base() + "/run", json={"remarks": "r1", "force": True}, headers=admin)
    done = client.get(election.base() + "/status", headers=admin).json()
    assert STATUS_FIELDS <= set(done)
    assert done["tallyExists"] is True and done["status"] == "COMPLETED"
    assert done["period"]["state"] == "SEALED" and done["period"]["sealedAt"].endswith("Z")
    assert done["remarks"] == "r1"
    assert done["startedByPersonId"].startswith("api-token:")
    assert done["completedAt"].endswith("Z") and done["startedAt"].endswith("Z")
    assert done["totalPositionsCertified"] == 3 and done["totalWinnersApplied"] == 6
    assert done["progress"]["areasDone"] == done["progress"]["areasTotal"] > 0
    assert done["progress"]["ballotsProcessed"] == 3 * 120


def test_rollback_removes_winners_keeps_history_and_allows_a_rerun(client, admin, election, db):
    first = client.post(election.base() + "/run", json={"force": True}, headers=admin).json()["tallyRunId"]
    response = client.post(election.base() + "/rollback", params={"reason": "Election disputed"}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ROLLBACK_FIELDS
    assert body == {**body, "tallyRunId": first, "status": "ROLLED_BACK", "winnersRemoved": 6,
                    "message": "Tally rolled back successfully"}
    with session_scope(db) as session:
        assert session.scalars(select(m.WinnerAssignment).where(m.WinnerAssignment.run_id == first)).all() == []
        assert session.scalars(select(m.CertifiedResult).where(m.CertifiedResult.run_id == first)).all()
        event = session.scalars(select(m.AuditEvent).where(
            m.AuditEvent.kind == "tally rolled back", m.AuditEvent.election_id == election.id)).one()
        assert event.payload["reason"] == "Election disputed" and event.run_id == first
    assert client.get(election.base() + "/status", headers=admin).json()["status"] == "ROLLED_BACK"
    assert_error(client.post(election.base() + "/rollback", params={"reason": "x"}, headers=admin), 400,
                 "Can only rollback COMPLETED tallies")

    rerun = client.post(election.base() + "/run", json={"remarks": "re-run"}, headers=admin)
    assert rerun.status_code == 202, rerun.text
    second = rerun.json()["tallyRunId"]
    assert second != first
    status = client.get(election.base() + "/status", headers=admin).json()
    assert (status["tallyRunId"], status["status"]) == (second, "COMPLETED")
    with session_scope(db) as session:
        statuses = dict(session.execute(
            select(m.TallyRun.id, m.TallyRun.status).where(m.TallyRun.election_id == election.id)).all())
        assert statuses == {first: m.RunStatus.ROLLED_BACK, second: m.RunStatus.COMPLETED}
        assert len(session.scalars(select(m.WinnerAssignment).where(m.WinnerAssignment.run_id == second)).all()) == 6


# ---- the design note's error table, row by row ----


def test_period_not_closed(client, admin, election):
    assert_error(client.post(election.base() + "/run", json={"remarks": "x", "force": False}, headers=admin),
                 400, "Voting period must be CLOSED to tally results")


def test_tally_already_in_progress(client, admin, election, monkeypatch):
    monkeypatch.setattr(services.lifecycle.dispatch, "send_pending", lambda *args: None)  # no worker picks it up
    assert client.post(election.base() + "/run", json={"force": True}, headers=admin).status_code == 202
    assert_error(client.post(election.base() + "/run", json={"force": True}, headers=admin), 400,
                 "Tally is already in progress")
    status = client.get(election.base() + "/status", headers=admin).json()
    assert status["status"] == "PENDING" and status["completedAt"] is None
    assert status["totalPositionsCertified"] is None and status["totalWinnersApplied"] is None
    assert_error(client.post(election.base() + "/rollback", params={"reason": "x"}, headers=admin), 400,
                 "Can only rollback COMPLETED tallies")


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_invalid_election_and_period(client, admin, election, method, path):
    assert_error(call(client, method, BASE.format(e=999_999, p=election.period_id) + path, admin, ), 400,
                 "Invalid electionId")
    assert_error(call(client, method, BASE.format(e=election.id, p=999_999) + path, admin), 400,
                 "Invalid votingPeriodId")


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_period_of_another_election(client, admin, election, db, method, path):
    other = make_election(db, f"other-{election.key}", ballots=0)
    assert_error(call(client, method, BASE.format(e=election.id, p=other.period_id) + path, admin), 400,
                 "VotingPeriod does not belong to election")


def test_rollback_needs_a_reason_like_the_cli(client, admin, election):
    for params in ({}, {"reason": ""}, {"reason": "   "}):
        body = assert_error(client.post(election.base() + "/rollback", params=params, headers=admin), 400)
        assert "reason" in body["message"], (params, body)


def test_no_tally_to_roll_back(client, admin, election, db):
    second_period = add_period(db, election, "second")
    assert_error(client.post(BASE.format(e=election.id, p=second_period) + "/rollback", params={"reason": "x"},
                             headers=admin), 400, "No tally found for this election and voting period")


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("bad", ["abc", "1.5", "0", "-3", "99999999999", "%20"])
def test_path_ids_that_are_not_valid_integers(client, admin, method, path, bad):
    for url in (BASE.format(e=bad, p=1), BASE.format(e=1, p=bad)):
        body = assert_error(call(client, method, url + path, admin), 400)
        assert body["message"] in ("Invalid electionId", "Invalid votingPeriodId")


@pytest.mark.parametrize(
    "payload",
    [{"force": "yes"}, {"force": 1}, {"force": None}, {"remarks": 5}, {"remarks": ["a"]}, {"remarks": "a\x00b"},
     [], "text", 3, {"remarks": "x" * 10_001}],
)
def test_bad_bodies_are_400_with_the_error_body(client, admin, election, payload):
    body = assert_error(client.post(election.base() + "/run", json=payload, headers=admin), 400)
    assert body["error"] == "Bad Request"


def test_malformed_json_and_bad_reason(client, admin, election):
    response = client.post(election.base() + "/run", content=b"{not json", headers={**admin,
                           "Content-Type": "application/json"})
    assert_error(response, 400, "Request body is not valid JSON")
    assert_error(client.post(election.base() + "/rollback", params={"reason": "a\x00b"}, headers=admin), 400)


# ---- authentication ----


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_every_admin_endpoint_needs_a_valid_admin_token(client, election, db, method, path):
    url = election.base() + path
    kwargs = {"json": {"force": True}} if path == "/run" else {}
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic YWRtaW46YWRtaW4="},
                    bearer("tly_not-a-real-token")):
        response = call(client, method, url, headers, **kwargs)
        assert_error(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")
    viewer = make_token(db, "VIEWER", "read only")
    assert_error(call(client, method, url, bearer(viewer), **kwargs), 403)
    revoked = make_token(db, "ADMIN", "old")
    with session_scope(db) as session:
        tokens.revoke(session, tokens.authenticate(session, revoked).id)
    assert_error(call(client, method, url, bearer(revoked), **kwargs), 401)
    # nothing happened
    with session_scope(db) as session:
        assert session.scalars(select(m.TallyRun).where(m.TallyRun.election_id == election.id)).all() == []


def test_authentication_comes_before_input_checks(client, election, db):
    viewer = bearer(make_token(db, "VIEWER"))
    assert_error(client.post(election.base() + "/run", content=b"{oops", headers={"Content-Type": "application/json"}), 401)
    assert_error(client.post(election.base() + "/run", json={"force": "nope"}, headers=viewer), 403)
    assert_error(client.get(BASE.format(e="abc", p=1) + "/status"), 401)


def test_unknown_routes_and_methods_use_the_error_body(client, admin):
    assert_error(client.get("/nowhere"), 404)
    assert_error(client.get(BASE.format(e=1, p=1) + "/run", headers=admin), 405)


def test_openapi_document(client):
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    base = "/api/v1/admin/elections/{electionId}/voting-periods/{votingPeriodId}/tally"
    assert {base + "/run", base + "/status", base + "/rollback", "/elections/{election}/public/ballots.json",
            "/elections/{election}/public/audit.json", "/elections/{election}/public/results.json"} <= set(paths)
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    assert set(doc["components"]["schemas"]["RunResponse"]["properties"]) == RUN_FIELDS
    assert all("422" not in op["responses"] for ops in paths.values() for op in ops.values())
    operation_ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))  # OpenAPI wants each unique (HEAD has its own)
    assert "head" in paths["/elections/{election}/public/results.json"]


def test_seal_closes_an_ended_period_and_seals_it_once(client, admin, election, db):
    seal = election.base().removesuffix("/tally") + "/seal"
    assert_error(client.post(seal), 401)
    response = client.post(seal, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["votingPeriodId"], body["ballots"], body["counted"]) == (election.period_id, 360, 360)
    assert len(body["ballotsChainHead"]) == len(body["definitionHash"]) == 64
    assert_error(client.post(seal, headers=admin), 400, "Voting period is already sealed")
    with session_scope(db) as session:
        event = session.scalars(select(m.AuditEvent).where(m.AuditEvent.election_id == election.id)
                                .order_by(m.AuditEvent.seq.desc())).first()
        assert event.kind == "ballots sealed" and event.payload["ballots_chain_head"] == body["ballotsChainHead"]
        assert event.payload["definition_hash"] == body["definitionHash"] == \
            session.get(m.Election, election.id).definition_hash
