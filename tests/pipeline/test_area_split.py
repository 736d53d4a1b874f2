"""Results must not depend on how ballots are split into areas (counting.md, tally_operation): the
same ballots cast in one area or spread over 200 give the same contest results, figure for figure.
In-process (Celery embedded) on real PostgreSQL."""

from __future__ import annotations

import pytest

from models import entities as m
from models.db import session_scope
from services.read.results import published
from services.lifecycle.commands import RequestTally
from tests import factories as f

pytestmark = pytest.mark.integration

CENSUS = 50_000  # in total, however it is split, so turnout matches too


def _contests() -> list[dict]:
    meek = f.contest("council", "meek-stv", candidates=8, seats=3)
    meek["exclusion_groups"] = [{"name": "g", "members": ["council-c1", "council-c3"], "max_elected": 1}]
    return [
        f.contest("board", "plurality-at-large", candidates=6, seats=2, max_votes=3),
        f.contest("mayor", "instant-runoff", candidates=6, max_votes=4),
        meek,
        f.contest("jury", "borda", candidates=5, seats=2, max_votes=4),
        f.contest("duel", "pairwise-beta", candidates=4, seats=1),
    ]


def _tally(url: str, definition: dict, ballots: list[dict]) -> dict:
    election_id, period_id = f.load(url, definition, ballots)
    with session_scope(url) as session:
        run, _ = RequestTally(election_id, period_id, force=True, by="test").run(session)
        run_id = run.id
    with session_scope(url) as session:
        run = session.get(m.TallyRun, run_id)
        assert run.status == m.RunStatus.COMPLETED, run.error
        (tally,) = published(session, election_id)["tallies"]
    return {c["contest"]: c for c in tally["contests"]}


@pytest.mark.slow
def test_one_area_or_two_hundred_give_the_same_results(embedded_db):
    spread = f.election("split-200", _contests(), areas=f.split_areas(200, CENSUS))
    assert len(spread["areas"]) == 200 and {a.get("parent") for a in spread["areas"]} > {None, "root"}
    ballots = f.random_ballots(spread, 2500, seed=21) + f.contested_ballots(spread, "mayor", 1500, seed=22)
    whole = f.election("split-1", _contests(), areas=f.split_areas(1, CENSUS))
    assert len({b["area"] for b in ballots}) > 150

    many = _tally(embedded_db, spread, ballots)
    one = _tally(embedded_db, whole, f.respread(ballots, ["root"]))

    expected = f.direct_count(whole, f.respread(ballots, ["root"]))
    assert f.direct_count(spread, ballots) == expected
    for key in expected:
        assert many[key]["result"] == one[key]["result"] == expected[key], key
        # The root's subtree is the whole contest too; the single area's own result is the contest's
        # participation (its candidate results follow the area's default operation).
        subtree = {k: v for k, v in many[key]["subtrees"]["root"].items() if k != "followed_rounds"}
        assert subtree == expected[key], key
        assert one[key]["areas"]["root"]["totals"] == expected[key]["totals"], key
        assert len(many[key]["areas"]) == 200
    assert len(expected["mayor"]["rounds"]) > 1 and len(expected["council"]["rounds"]) > 1
