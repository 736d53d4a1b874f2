"""`POST .../tally/tie-decisions` (in-process, real PostgreSQL, Celery eager): a tally waiting at RCTab's
interactive tie shows it in its status, takes the official's decision and completes; a decision that does not fit
is a 400 naming why, one with nothing waiting a 409, and neither records anything."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import entities as m
from models.db import session_scope
from services.lifecycle.commands import SealPeriod
from services.loading.cvr import load_rctab

from ..cvr.corpus import ABSENT, CORPUS, PRESENT
from .conftest import BASE, assert_error, bearer, make_token

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not PRESENT, reason=ABSENT)]

CONFIG = CORPUS / "sample_interactive_tiebreak" / "sample_interactive_tiebreak_config.json"
CONTEST = "sample_interactive_tiebreak"


def _waiting(db, client, admin, key: str) -> str:
    with session_scope(db) as session:
        report = load_rctab(session, CONFIG, key, allow_outside_paths=True)
        SealPeriod(report.election_id, report.period_id).run(session)
    base = BASE.format(e=report.election_id, p=report.period_id)
    assert client.post(base + "/run", json={}, headers=admin).status_code == 202
    return base


def _decided(db, base: str) -> int:
    election_id = int(base.split("/elections/")[1].split("/")[0])
    with session_scope(db) as session:
        return len(session.scalars(select(m.AuditEvent).where(
            m.AuditEvent.election_id == election_id, m.AuditEvent.kind == "tie decided")).all())


def test_the_waiting_tally_shows_its_tie_takes_the_decision_and_completes(db, client, admin):
    base = _waiting(db, client, admin, "api-tie")
    status = client.get(base + "/status", headers=admin).json()
    assert status["status"] == "WAITING"
    assert status["waitingFor"] == {"contest": CONTEST, "round": 2, "purpose": "eliminate",
                                    "candidates": ["George Gervin", "Yinka Dare"], "choose": 1}
    viewer = bearer(make_token(db, "VIEWER", "read only"))
    decision = {"contest": CONTEST, "round": 2, "chosen": ["Yinka Dare"], "reason": "lot drawn in public"}
    assert_error(client.post(base + "/tie-decisions", json=decision), 401)
    assert_error(client.post(base + "/tie-decisions", json=decision, headers=viewer), 403)
    refused = {
        "round: the tie the run waits for is at round 2": {**decision, "round": 1},
        "choose: Mookie Blaylock: choose among the tied candidates, George Gervin, Yinka Dare":
            {**decision, "chosen": ["Mookie Blaylock"]},
        "choose: the tie needs 1 candidate(s) chosen, got 2": {**decision, "chosen": ["George Gervin", "Yinka Dare"]},
    }
    for message, body in refused.items():
        assert_error(client.post(base + "/tie-decisions", json=body, headers=admin), 400, message)
    assert_error(client.post(base + "/tie-decisions", json={**decision, "reason": ""}, headers=admin), 400)
    assert _decided(db, base) == 0

    answer = client.post(base + "/tie-decisions", json=decision, headers=admin)
    assert answer.status_code == 202, answer.text
    assert answer.json()["message"] == "Tie decision recorded: the tally goes on"
    done = client.get(base + "/status", headers=admin).json()
    assert (done["status"], done["waitingFor"]) == ("COMPLETED", None)
    assert _decided(db, base) == 1
    assert_error(client.post(base + "/tie-decisions", json=decision, headers=admin), 409,
                 "No tally of this voting period is waiting for a tie decision")
