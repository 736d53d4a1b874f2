"""Two beat processes and a hundred concurrent API calls race for one voting period: one run."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.api.conftest import bearer, make_election, make_token, start_api
from tests.api.test_api_workers import _burst
from tests.support import period_runs, wait_for

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_two_beats_and_a_hundred_api_calls_make_one_run(stack):
    election = make_election(stack.database_url, "race-beats", ballots=200, ended=False)
    stack.env.update(TALLY_ADVANCE_INTERVAL="0.3")
    api = start_api(stack)
    headers = bearer(make_token(stack.database_url))
    stack.start_worker("w1")
    # The period ends now: both beats and the API callers all see it due at about the same time.
    with stack.session() as session:
        from models import entities as m
        from services.lifecycle.periods import now

        session.get(m.VotingPeriod, election.period_id).ends_at = now()
    stack.start_beat("beat1")
    stack.start_beat("beat2")
    time.sleep(1.0)
    responses = asyncio.run(_burst(api + election.base() + "/run", headers, 100))
    assert all(r.status_code in (200, 202, 400) for r in responses), [r.text for r in responses if r.status_code >= 500]
    accepted = [r for r in responses if r.status_code == 202]
    assert len(accepted) <= 1
    for r in responses:
        if r.status_code == 400:
            assert r.json()["message"] == "Tally is already in progress"

    wait_for(lambda: period_runs(stack.database_url, election.period_id)[-1][1] == "COMPLETED", 120, what="COMPLETED")
    time.sleep(1)  # a few more beat ticks: nothing new may start
    assert [s for _, s, _ in period_runs(stack.database_url, election.period_id)] == ["COMPLETED"]
    status = httpx.get(api + election.base() + "/status", headers=headers, timeout=30).json()
    assert status["status"] == "COMPLETED" and status["totalPositionsCertified"] == 3
