"""Area task messages that carry several small areas of one contest, sized by ballots
(TALLY_BATCH_BALLOTS, TALLY_BATCH_AREAS): the batches are the same every time, in area id order, a
big area goes alone, each area is counted and staged on its own and once, a redelivered message
counts nothing twice, and the published result equals the engine's direct count. On the real
PostgreSQL, and with real workers watched by a real Flower, which shows each message by its contest
and areas, each area's count in its result, and the area just counted while a message runs."""

from __future__ import annotations

import ast
import random

import pytest
from sqlalchemy import delete, select

from models import entities as m
from models.db import session_scope
from services.pipeline import area as area_stage
from services.pipeline import contest as contest_stage
from services.pipeline import plan as plan_stage
from services.pipeline import publish as publish_stage
from tests import factories as f
from tests.ops.test_flower import flower_watching_workers
from tests.support import wait_for

BUDGET = 400


def test_batches_take_areas_in_id_order_up_to_the_ballot_budget_and_a_big_area_goes_alone():
    sizes = [(7, 30), (3, 10), (5, 25), (9, 200), (1, 0), (4, 15), (8, 45), (10, 0), (2, 50)]
    batches = plan_stage.area_batches(sizes, budget=50, max_areas=3)
    # 2 (50 ballots: the budget) and 9 (more) are alone, and so is the empty area after each; 3-4-5
    # reach the budget together; 7 and 8 would pass it.
    assert batches == [[1], [2], [3, 4, 5], [7], [8], [9], [10]]
    assert plan_stage.area_batches([(a, 1) for a in range(5)], budget=50, max_areas=2) == [[0, 1], [2, 3], [4]]
    for _ in range(5):  # the order the areas come in changes nothing
        assert plan_stage.area_batches(random.sample(sizes, len(sizes)), budget=50, max_areas=3) == batches
    assert plan_stage.area_batches(sizes, budget=1, max_areas=500) == [[a] for a, _ in sorted(sizes)]
    assert plan_stage.area_batches([], budget=50, max_areas=3) == []


def test_a_large_contest_takes_more_ballots_a_message_than_the_budget_and_a_small_one_no_fewer():
    assert plan_stage.batch_budget(3_000, at_least=500, messages=64) == 500
    assert plan_stage.batch_budget(10_000_000, at_least=50_000, messages=64) == 156_250
    assert plan_stage.batch_budget(10_000_001, at_least=50_000, messages=64) == 156_251  # rounded up
    sizes = [(a, 10_000) for a in range(1_000)]  # 10M ballots in 1,000 areas
    batches = plan_stage.area_batches(sizes, plan_stage.batch_budget(10_000_000, 50_000, 64), max_areas=500)
    assert 64 <= len(batches) <= 2 * 64 and sorted(a for b in batches for a in b) == list(range(1_000))


def _election(key: str) -> tuple[dict, list[dict]]:
    """Two contests over 30 areas of about 100 ballots each, and one area of 1,200 more per contest:
    past the budget, so it goes alone."""
    areas = f.split_areas(30, 3000, seed=4)
    definition = f.election(key, [
        f.contest("mayor", "instant-runoff", candidates=5),
        f.contest("council", "plurality-at-large", candidates=4, seats=2, max_votes=2),
    ], areas=areas)
    ballots = f.random_ballots(definition, 3000, seed=21)
    ballots += f.respread(f.random_ballots(definition, 1200, seed=22), [BIG], seed=23)
    return definition, ballots


BIG = "d2.p6"


def _ids(url: str, election_id: int) -> tuple[dict[int, str], dict[int, str]]:
    with session_scope(url) as session:
        election = session.get(m.Election, election_id)
        return {c.id: c.key for c in election.contests}, {a.id: a.key for a in election.areas}


def _expected_batches(url: str, election_id: int, definition: dict, ballots: list[dict]) -> dict[str, list[list[str]]]:
    """Per contest, the batches by area key, made here from the loaded ballots (not by the plan)."""
    contests, areas = _ids(url, election_id)
    key_of = {key: area_id for area_id, key in areas.items()}
    out = {}
    for c in definition["contests"]:
        sizes = [(key_of[a["id"]], sum(1 for b in ballots if b["contest"] == c["id"] and b["area"] == a["id"]))
                 for a in definition["areas"]]
        out[c["id"]] = [[areas[i] for i in batch] for batch in plan_stage.area_batches(sizes, BUDGET, 500)]
    return out


def _process(url: str, run_id: int, batch) -> list:
    with session_scope(url) as session:
        return area_stage.process_areas(session, run_id, batch.contest_id, list(batch.area_ids))


def _staged(url: str, run_id: int) -> list[tuple]:
    with session_scope(url) as session:
        rows = session.scalars(select(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id)).all()
        return sorted((r.contest_id, r.area_id, r.operation, repr(r.participation), repr(r.result), r.valid_ballots,
                       r.ballots_read) for r in rows)


def _published(url: str, election_id: int) -> dict[str, dict]:
    from services.read.results import published

    with session_scope(url) as session:
        tallies = published(session, election_id)["tallies"]
    assert len(tallies) == 1
    return {c["contest"]: c["result"] for c in tallies[0]["contests"]}


def test_a_run_plans_its_batches_from_the_stored_ballots_the_same_every_time(embedded_db, monkeypatch):
    monkeypatch.setenv("TALLY_BATCH_BALLOTS", str(BUDGET))
    definition, ballots = _election("batches-plan")
    election_id, period_id = f.load(embedded_db, definition, ballots)
    run_id, plan = f.started_run(embedded_db, election_id, period_id)
    contests, areas = _ids(embedded_db, election_id)
    expected = _expected_batches(embedded_db, election_id, definition, ballots)

    assert {contests[batches[0].contest_id]: [[areas[a] for a in b.area_ids] for b in batches]
            for batches in plan} == expected
    for batches in expected.values():
        assert [BIG] in batches  # alone
        assert sum(len(b) for b in batches) == len(definition["areas"])
        assert 1 < max(len(b) for b in batches) and len(batches) < len(definition["areas"])
    # What Flower and the logs call each task: its contest and its areas (first..last, how many).
    names = {b.keys for batches in plan for b in batches}
    first = plan[0][0]
    keys = [areas[a] for a in first.area_ids]
    assert first.keys == ("batches-plan", "main", "mayor", f"{keys[0]}..{keys[-1]} ({len(keys)} areas)")
    assert {("batches-plan", "main", c, BIG) for c in ("mayor", "council")} <= names
    with session_scope(embedded_db) as session:  # a re-dispatched run (RUNNING) is planned again: the same
        assert plan_stage.start(session, run_id) == plan
        assert session.get(m.TallyRun, run_id).areas_total == 2 * len(definition["areas"])


def test_a_redelivered_batch_stages_each_area_once_and_counts_nothing_twice(embedded_db, monkeypatch):
    monkeypatch.setenv("TALLY_BATCH_BALLOTS", str(BUDGET))
    definition, ballots = _election("batches-again")
    election_id, period_id = f.load(embedded_db, definition, ballots)
    run_id, plan = f.started_run(embedded_db, election_id, period_id)
    batch = next(b for b in plan[0] if len(b.area_ids) > 2)

    first = _process(embedded_db, run_id, batch)
    assert [a.area_id for a in first] == list(batch.area_ids)
    staged = _staged(embedded_db, run_id)
    assert len(staged) == len(batch.area_ids)
    assert _process(embedded_db, run_id, batch) == []  # delivered again: every area already staged
    assert _staged(embedded_db, run_id) == staged
    # An area whose partial is gone is counted again, alone, into the same row as before.
    with session_scope(embedded_db) as session:
        session.execute(delete(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id,
                                                         m.StagedAreaResult.area_id == batch.area_ids[1]))
    assert [a.area_id for a in _process(embedded_db, run_id, batch)] == [batch.area_ids[1]]
    assert _staged(embedded_db, run_id) == staged

    for batches in plan:  # the whole run, the first batch a third time
        for b in batches:
            _process(embedded_db, run_id, b)
        with session_scope(embedded_db) as session:
            contest_stage.aggregate_contest(session, run_id, batches[0].contest_id)
    with session_scope(embedded_db) as session:
        assert publish_stage.finalize(session, run_id)
    assert _published(embedded_db, election_id) == f.direct_count(definition, ballots)
    with session_scope(embedded_db) as session:
        run = session.get(m.TallyRun, run_id)
        figures = (run.areas_total, run.areas_done, run.ballots_processed)
    assert figures == (2 * len(definition["areas"]), 2 * len(definition["areas"]), len(ballots))


@pytest.mark.slow
@pytest.mark.integration
def test_workers_count_each_area_once_in_batches_flower_shows_by_contest_and_areas(stack):
    stack.env["TALLY_BATCH_BALLOTS"] = str(BUDGET)
    definition, ballots = _election("batches-flower")
    election_id, period_id = f.load(stack.database_url, definition, ballots)
    flower = flower_watching_workers(stack)

    stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "120")
    assert _published(stack.database_url, election_id) == f.direct_count(definition, ballots)
    with stack.session() as session:
        run = session.scalar(select(m.TallyRun).where(m.TallyRun.voting_period_id == period_id))
        figures = (run.areas_total, run.areas_done, run.ballots_processed)
    assert figures == (2 * len(definition["areas"]), 2 * len(definition["areas"]), len(ballots))

    expected = _expected_batches(stack.database_url, election_id, definition, ballots)
    want = {f"(run=1, batches-flower/main/{c}/{b[0]})" if len(b) == 1
            else f"(run=1, batches-flower/main/{c}/{b[0]}..{b[-1]} ({len(b)} areas))"
            for c, batches in expected.items() for b in batches}

    def batch_tasks():
        tasks = flower.json("/api/tasks?taskname=tally.process_areas&limit=1000")
        if len(tasks) == len(want) and all(t["state"] == "SUCCESS" for t in tasks.values()):
            return tasks
        return None

    tasks = wait_for(batch_tasks, 30, what="flower to show every area task SUCCESS")
    assert {t["args"] for t in tasks.values()} == want
    assert {t["worker"].split("@")[0] for t in tasks.values()} == {"w1", "w2"}
    # Each area on its own in its task's result, with the ballots counted there: every area of every
    # contest exactly once, adding up to the ballots loaded.
    counted: dict[tuple[str, str], int] = {}
    for t in tasks.values():
        contest = t["args"].split("/")[2]
        result = ast.literal_eval(t["result"])
        assert result["ballots_counted"] == sum(result["areas"].values())
        for area, n in result["areas"].items():
            assert (contest, area) not in counted
            counted[(contest, area)] = n
    assert set(counted) == {(c["id"], a["id"]) for c in definition["contests"] for a in definition["areas"]}
    assert sum(counted.values()) == len(ballots)
    # While a task of several areas ran, Flower heard the area it had just counted.
    several = sum(len(b) > 1 for batches in expected.values() for b in batches)
    wait_for(lambda: flower.metric("flower_events_total", task="tally.process_areas", type="task-progress")
             >= several, 15, what="the area tasks' progress events")
