"""How ballots are stored: the period's hash chain kept by the loader (also for ballots loaded before
it was kept), records that Python finds equal but votes do not, and the integrity checks that
replaced the ballots' foreign keys."""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlalchemy import func, select, text

from models import entities as m
from models.db import session_scope, upgrade
from services import ballot_chain, storage
from services.read import exports
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from services.read.results import published
from services.lifecycle.commands import RequestTally
from tests import factories as f
from tests.support import postgres_database

pytestmark = pytest.mark.integration


def _definition(key: str) -> dict:
    return f.election(key, [f.contest("mayor", "instant-runoff", candidates=4, max_votes=3)])


def _tally(url: str, election_id: int, period_id: int) -> m.TallyRun:
    with session_scope(url) as session:
        run, _ = RequestTally(election_id, period_id, force=True, by="test").run(session)
        run_id = run.id
    with session_scope(url) as session:
        return session.get(m.TallyRun, run_id)


def test_each_load_extends_the_chain_that_the_stored_rows_give(embedded_db):
    definition = _definition("chain")
    ballots = f.random_ballots(definition, 400, seed=5)
    election_id, period_id = f.load(embedded_db, definition, ballots[:150])
    with session_scope(embedded_db) as session:
        load_ballots(session, "chain", "main", ballots[150:])
    with session_scope(embedded_db) as session:
        period = session.get(m.VotingPeriod, period_id)
        stored = (period.ballots_count, period.ballots_chain_head)
        assert stored == ballot_chain.period_chain(session, period_id)  # recomputed from the rows, in cast order
    assert stored[0] == 400
    with session_scope(embedded_db) as session:  # what sizes a tally's area tasks, as each load recorded it
        b = m.Ballot
        grouped = session.execute(select(b.contest_id, b.area_id, func.count()).where(b.voting_period_id == period_id)
                                  .group_by(b.contest_id, b.area_id)).all()
        assert storage.of(session).ballot_counts(session, period_id) == {(c, a): n for c, a, n in grouped}
        assert len(grouped) > 1
    run = _tally(embedded_db, election_id, period_id)
    assert run.status == m.RunStatus.COMPLETED, run.error
    assert run.ballots_chain_head == stored[1]
    with session_scope(embedded_db) as session:
        document = json.loads(exports.ballots_document(session, election_id))
    assert document["chain_head"] == stored[1] and len(document["ballots"]) == 400


def test_records_equal_in_python_but_not_as_votes_are_read_apart(embedded_db):
    definition = _definition("types")
    c1, c2 = "mayor-c1", "mayor-c2"
    looks_alike = [
        {"marks": [[c1, 1], [c2, 2]]},
        {"marks": [[c1, 1.0], [c2, 2]]},  # 1.0 == 1 in Python, but not a rank
        {"marks": [[c1, True], [c2, 2]]},  # True == 1 too
        {"marks": [[c1, 1], [c2, 2]], "weight": True},
        {"marks": [[c1, 1], [c2, 2]], "weight": 1.0},
        {"marks": [[c1, 1], [c2, 2]], "explicit_invalid": 0},
        {"marks": [(c1, 1), [c2, 2]]},  # a tuple mark, as a program may pass it: read as the list
        {"marks": [c1 + "\x00", [c2, 2]]},
    ]
    ballots = [{"contest": "mayor", "area": "a1", **r} for r in looks_alike for _ in range(3)]
    election_id, period_id = f.load(embedded_db, definition, ballots)
    assert _tally(embedded_db, election_id, period_id).status == m.RunStatus.COMPLETED
    with session_scope(embedded_db) as session:
        (contest,) = published(session, election_id)["tallies"][0]["contests"]
    expected = f.direct_count(definition, ballots)["mayor"]
    assert contest["result"] == expected
    assert expected["totals"]["valid"] == 6 and expected["totals"]["invalid_implicit"] == 18


def test_a_ballot_added_behind_the_loader_fails_the_run_and_publishes_nothing(embedded_db):
    definition = _definition("extra")
    election_id, period_id = f.load(embedded_db, definition, f.random_ballots(definition, 120, seed=6))
    with session_scope(embedded_db) as session:
        contest_id = session.scalar(select(m.Contest.id))
        area_id = session.scalar(select(m.Area.id).where(m.Area.key == "a1"))
        session.execute(
            text("INSERT INTO ballots (voting_period_id, contest_id, area_id, marks, weight, explicit_invalid)"
                 " VALUES (:p, :c, :a, '', 1, false)"),
            {"p": period_id, "c": contest_id, "a": area_id},
        )
    run = _tally(embedded_db, election_id, period_id)
    assert run.status == m.RunStatus.FAILED
    assert "read 121 ballot(s) but 120 were loaded" in run.error
    with session_scope(embedded_db) as session:
        assert published(session, election_id)["tallies"] == []
        assert session.get(m.VotingPeriod, period_id).status == m.PeriodStatus.CLOSED


@pytest.mark.parametrize("table, key", [("voting_periods", None), ("contests", "mayor"), ("areas", "a1")])
def test_what_has_ballots_cannot_be_deleted(embedded_db, table, key):
    definition = _definition(f"keep-{table}")
    f.load(embedded_db, definition, [{"contest": "mayor", "area": "a1", "marks": [["mayor-c1", 1]]}])
    where = "" if key is None else f" WHERE key = '{key}'"
    with psycopg.connect(embedded_db.replace("+psycopg", "")) as conn:
        with pytest.raises(psycopg.errors.RaiseException, match="has cast ballots"):
            conn.execute(f"DELETE FROM {table}{where}")


def test_an_election_without_ballots_can_still_be_deleted(embedded_db):
    f.load(embedded_db, _definition("empty"), [])
    with psycopg.connect(embedded_db.replace("+psycopg", "")) as conn:
        conn.execute("DELETE FROM elections")
        assert conn.execute("SELECT count(*) FROM areas").fetchone() == (0,)


@pytest.fixture
def database_at_0003():
    """A new database migrated only to revision 0003, as one loaded before this revision was."""
    with postgres_database("0003") as url:
        yield url


def test_ballots_loaded_before_the_chain_was_kept_still_get_one(database_at_0003):
    with psycopg.connect(database_at_0003.replace("+psycopg", ""), autocommit=True) as conn:
        for statement in (
            "INSERT INTO elections (id, key, name, status, created_at) VALUES (1, 'old', 'Old', 'open', now())",
            "INSERT INTO voting_periods (id, election_id, name, ends_at, status) VALUES (1, 1, 'main', now(), 'OPEN')",
            "INSERT INTO areas (id, election_id, key, name, census, weight) VALUES (1, 1, 'a1', 'A1', 0, 1)",
            "INSERT INTO contests (id, election_id, key, name, position, method, seats, min_votes, max_votes,"
            " blank_policy, options, annotations) VALUES (1, 1, 'mayor', 'Mayor', 0, 'plurality-at-large', 1, 0, 1,"
            " 'allowed', '{}', '{}')",
            "INSERT INTO candidates (id, contest_id, key, position, name, undeclared_write_in)"
            " VALUES (1, 1, 'A', 0, 'A', false)",
            "INSERT INTO ballot_styles (id, contest_id, area_id, area_annotations) VALUES (1, 1, 1, '{}')",
            "INSERT INTO ballots (voting_period_id, contest_id, area_id, marks, weight, explicit_invalid)"
            " SELECT 1, 1, 1, '\\x00000001', 1, false FROM generate_series(1, 5)",
        ):
            conn.execute(statement)
    upgrade(database_at_0003)
    with session_scope(database_at_0003) as session:
        assert session.get(m.VotingPeriod, 1).ballots_count == 5  # the migration counted them
        assert storage.of(session).ballot_counts(session, 1) == {(1, 1): 5}  # and recorded their sizes
        load_ballots(session, "old", "main", [{"contest": "mayor", "area": "a1", "marks": [["A", 1]]}] * 3)
    with session_scope(database_at_0003) as session:
        period = session.get(m.VotingPeriod, 1)
        assert (period.ballots_count, period.ballots_chain_head) == ballot_chain.period_chain(session, 1)
        assert period.ballots_count == 8
        assert storage.of(session).ballot_counts(session, 1) == {(1, 1): 8}


def test_a_load_pauses_the_collector_only_when_it_is_all_the_process_does(embedded_db):
    """On the main thread (the CLI, a worker's task) the load runs with the cyclic collector off; on
    a thread of its own (an API process's load job) the collector keeps running for the requests
    served beside it. Seen by the records themselves, read while the load runs."""
    import gc
    import threading

    definition = _definition("collector")
    ballots = f.random_ballots(definition, 20, seed=3)
    f.load(embedded_db, definition, ballots[:5])
    seen: dict[str, set[bool]] = {"main": set(), "thread": set()}

    def records(where: str):
        for ballot in ballots[5:]:
            seen[where].add(gc.isenabled())
            yield ballot

    def load(where: str) -> None:
        with session_scope(embedded_db) as session:
            load_ballots(session, "collector", "main", records(where), allow_duplicate=True)

    assert gc.isenabled()
    load("main")
    thread = threading.Thread(target=load, args=("thread",))
    thread.start()
    thread.join()
    assert seen == {"main": {False}, "thread": {True}}
    assert gc.isenabled()


def _published(url: str, election_id: int, period_id: int) -> tuple[dict, dict]:
    _tally(url, election_id, period_id)
    with session_scope(url) as session:
        return (json.loads("".join(exports.ballots_chunks(session, election_id))),
                json.loads(exports.audit_document(session, election_id)))


def test_ballots_are_published_in_no_order_of_their_loading(embedded_db):
    """Six different ballots loaded into one area in one order, and in the reverse order into another
    election, are published in the same order (ascending entry hash): nothing of when each was cast or
    scanned. The audit log keeps each batch, not its file's name; `tally verify` checks the order."""
    from services.public_format import BALLOT_ORDER
    from services.verify import verify

    c = [f"mayor-c{i}" for i in range(1, 5)]
    six = [{"contest": "mayor", "area": "a1", "marks": [[c[i], 1], [c[j], 2]]}
           for i, j in ((0, 1), (1, 0), (2, 3), (3, 2), (0, 2), (1, 3))]
    published = []
    for key, ballots in (("order-a", six), ("order-b", six[::-1])):
        definition = _definition(key)
        with session_scope(embedded_db) as session:
            load_definition(session, definition)
            load_ballots(session, key, "main", ballots, source=f"/scans/{key}/precinct-7-morning.json")
        with session_scope(embedded_db) as session:
            election = session.scalar(select(m.Election).where(m.Election.key == key))
            ids = election.id, election.periods[0].id
        published.append(_published(embedded_db, *ids))
    (ballots_a, audit_a), (ballots_b, audit_b) = published
    marks = [[e["marks"] for e in doc["ballots"]] for doc in (ballots_a, ballots_b)]
    assert marks[0] == marks[1] and sorted(map(str, marks[0])) == sorted(map(str, (b["marks"] for b in six)))
    hashes = [e["hash"] for e in ballots_a["ballots"]]
    assert hashes == sorted(hashes)
    (loaded,) = [e["payload"] for e in audit_a["events"] if e["kind"] == "ballots loaded"]
    assert loaded["ballot_order"] == BALLOT_ORDER and "source" not in loaded
    assert "precinct-7-morning" not in json.dumps(audit_a)
    assert verify(ballots_a, audit_a).ok

    # Put back in the order they were cast (chains relinked, so only the order is wrong): verify names it.
    from services.public_format import GENESIS, link

    entries = sorted(ballots_a["ballots"], key=lambda e: [b["marks"] for b in six].index(e["marks"]))
    chain = GENESIS
    for entry in entries:
        chain = entry["chain"] = link(chain, entry["hash"])
    report = verify({**ballots_a, "ballots": entries, "chain_head": chain}, audit_a)
    assert any("breaks the batch's order (by contest and area, then entry hash)" in d for d in report.differences), \
        report.differences
