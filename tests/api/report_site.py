"""The election the report tests publish: the demo's three contests (plurality council, instant-runoff
mayor, Meek STV board), with candidate names that are markup and spreadsheet formulas."""

from __future__ import annotations

from cli.demo import definition, sample_ballots
from models import entities as m
from models.db import session_scope
from services.lifecycle import periods
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition

from .conftest import Election

HOSTILE_NAMES = {"baker": "<b>Baker</b> & Co", "chen": '=HYPERLINK("http://x.test","Chen")'}


def publish(db: str, client, admin: dict, key: str, ballots: int = 400) -> Election:
    with session_scope(db) as session:
        doc = definition(key, periods.now().replace(microsecond=0))
        for contest in doc["contests"]:
            for candidate in contest["candidates"]:
                candidate["name"] = HOSTILE_NAMES.get(candidate["id"], candidate["name"])
        report = load_definition(session, doc)
        load_ballots(session, key, "main", sample_ballots(doc["contests"], ballots, 5))
        period_id = session.get(m.Election, report.election_id).periods[0].id
    election = Election(report.election_id, key, period_id)
    sealed = client.post(election.base().removesuffix("/tally") + "/seal", headers=admin)
    assert sealed.status_code == 200, sealed.text
    ran = client.post(election.base() + "/run", json={"force": True}, headers=admin)
    assert ran.status_code == 202, ran.text
    return election
