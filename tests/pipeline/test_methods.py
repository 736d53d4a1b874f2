"""Every registered counting method through the distributed pipeline: on real PostgreSQL, Redis and
two `celery worker` processes, each contest's published result must equal the engine's count of the
same ballots pooled (tests.factories.direct_count), whatever tree of areas they were cast in."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

import counting
from models import entities as m
from models.db import session_scope
from services.read.results import published
from tests import factories as f
from tests.support import wait_for

pytestmark = pytest.mark.integration


def _teams(key: str, teams: dict[str, int], men_every: int = 2) -> list[dict]:
    """Candidates in teams (category), every `men_every`-th a man, listed team by team."""
    out = []
    for team, size in teams.items():
        for i in range(1, size + 1):
            n = len(out) + 1
            out.append({"id": f"{key}-c{n}", "name": f"{team} {i}", "category": team,
                        "gender": "M" if n % men_every else "F"})
    return out


def _method_contests() -> dict[str, dict]:
    """One contest per registered method (keyed by method), each exercising what the method is about."""
    def c(method, candidates=4, **extra):
        doc = f.contest(f"m-{method}", method, **(extra if isinstance(candidates, list) else
                                                    {**extra, "candidates": candidates}))
        if isinstance(candidates, list):
            doc["candidates"] = candidates
        return doc

    meek = c("meek-stv", candidates=7, seats=3)
    meek["exclusion_groups"] = [{"name": "pair", "members": ["m-meek-stv-c1", "m-meek-stv-c2"], "max_elected": 1}]
    return {
        "plurality-at-large": c("plurality-at-large", candidates=5, seats=2, max_votes=2),
        "approval": c("approval", candidates=5, seats=2),
        "cumulative": c("cumulative", candidates=4, seats=2, max_votes=3, options={"checks": 3}),
        "instant-runoff": c("instant-runoff", candidates=5, max_votes=4),
        "meek-stv": meek,
        "borda": c("borda", candidates=5, seats=2, max_votes=4),
        "borda-nauru": c("borda-nauru", candidates=5, seats=2),
        "borda-mas-madrid": c("borda-mas-madrid", seats=2,
                              candidates=_teams("m-borda-mas-madrid", {"red": 2, "blue": 3})),
        "desborda": c("desborda", seats=4, candidates=_teams("m-desborda", {"red": 3, "blue": 3, "green": 2})),
        "desborda2": c("desborda2", seats=4, candidates=_teams("m-desborda2", {"red": 3, "blue": 3, "green": 2})),
        "desborda3": c("desborda3", seats=3, candidates=_teams("m-desborda3", {"red": 3, "blue": 2, "green": 2})),
        "pairwise-beta": c("pairwise-beta", candidates=4, seats=2),
        # RCTab's single transferable vote: fractional surpluses to 4 places, seeded tie draws
        "rcv": c("rcv", candidates=7, seats=3, max_votes=5, options={
            "winner_election_mode": "multi-winner-allow-multiple-winners-per-round",
            "decimal_places_for_vote_arithmetic": 4, "tie_break_mode": "random", "random_seed": 42,
            "overvote_rule": "exhaust-immediately"}),
        "scottish-stv": c("scottish-stv", candidates=6, seats=3),
        **{m: c(m, candidates=5, seats=2) for m in ("schulze", "ranked-pairs", "copeland", "minimax")},
    }


# Extra contests for engine options that change how a ballot is read, where the pipeline's storage
# (canonical mark order, multiset packing) could disagree with the engine's: more than 9 candidates,
# so candidate positions and ids sort differently, and overvotes that stay valid.
def _option_contests() -> list[dict]:
    irv = f.contest("o-irv-overvotes", "instant-runoff", candidates=11, max_votes=5,
                    options={"overvote_rule": "exhaust-if-multiple-continuing", "duplicate_candidate_rule": "skip",
                             "max_skipped_ranks": 1, "batch_elimination": True})
    skip = f.contest("o-irv-skip", "instant-runoff", candidates=11, max_votes=5,
                     options={"overvote_rule": "always-skip-to-next-rank", "tie_break_look_back": False})
    multi_pass = f.contest("o-rcv-multi-pass", "rcv", candidates=6, seats=2, max_votes=4,
                           options={"winner_election_mode": "multi-pass-irv", "batch_elimination": True,
                                    "continue_until_two_candidates_remain": True,
                                    "tie_break_mode": "generate-permutation", "random_seed": 7})
    bottoms_up = f.contest("o-rcv-bottoms-up", "rcv", candidates=11, seats=3, max_votes=5,
                           options={"winner_election_mode": "bottoms-up", "overvote_rule": "always-skip-to-next-rank",
                                    "excluded_candidates": ["o-rcv-bottoms-up-c11"]})
    return [irv, skip, multi_pass, bottoms_up]


# Three elections: each tally run counts several methods and commits them all at once.
GROUPS = {
    "methods-additive": ["plurality-at-large", "approval", "cumulative", "borda", "borda-nauru", "borda-mas-madrid"],
    "methods-rounds": ["instant-runoff", "meek-stv", "pairwise-beta", "rcv"],
    "methods-teams": ["desborda", "desborda2", "desborda3"],
    "methods-ranked": ["scottish-stv", "schulze", "ranked-pairs", "copeland", "minimax"],
}


QUIET = "a1.3.quiet"  # an area where nobody voted


def _tree() -> list[dict]:
    """Four levels, 32 areas, ballots at every level but one leaf; three areas weigh more than 1."""
    areas = f.area_tree((3, 3, 2)) + [{"id": QUIET, "parent": "a1.3"}]
    rng = random.Random(5)
    census = {a["id"]: rng.randint(200, 900) for a in areas}
    return f.weighted(areas, {"a1.2": 2, "a3": 3, "a2.1.1": 2}, census)


def _ballots(definition: dict, seed: int) -> list[dict]:
    ballots = f.random_ballots(definition, 900, seed=seed)
    rng = random.Random(seed)
    area_ids = [a["id"] for a in definition["areas"]]
    for contest in definition["contests"]:
        if contest["method"] == "cumulative":
            ballots = f.cumulative_checks(ballots, contest["id"], contest["options"]["checks"], seed=seed)
        if contest["method"] == "borda-mas-madrid":  # block votes: one team's full list, in order
            teams: dict[str, list[str]] = {}
            for cand in contest["candidates"]:
                teams.setdefault(cand["category"], []).append(cand["id"])
            for _ in range(60):
                team = rng.choice(sorted(teams))
                ballots.append({"contest": contest["id"], "area": rng.choice(area_ids),
                                "marks": [[cid, r + 1] for r, cid in enumerate(teams[team])]})
        if contest["method"] in ("instant-runoff", "rcv"):  # first choices spread out: several rounds
            ballots += f.contested_ballots(definition, contest["id"], 400, seed=seed)
        if contest["id"].startswith("o-irv"):  # overvotes and repeats at every rank, some skipped ranks
            names = [x["id"] for x in contest["candidates"]]
            for _ in range(150):
                picks = rng.sample(names, 4)
                marks = [[picks[0], 1], [picks[1], 1], [picks[2], rng.choice([2, 3, 4])],
                         [picks[rng.choice([0, 3])], 5]]
                ballots.append({"contest": contest["id"], "area": rng.choice(area_ids), "marks": marks,
                                "weight": rng.choice([1, 1, 2])})
    return [b for b in ballots if b["area"] != QUIET]


def _status(url: str, election_id: int) -> tuple[str, str | None]:
    with session_scope(url) as session:
        run = session.scalar(select(m.TallyRun).where(m.TallyRun.election_id == election_id))
        return (run.status.value, run.error) if run else ("NONE", None)


@pytest.mark.slow
def test_every_method_equals_the_pooled_count(stack):
    contests = _method_contests()
    assert set(contests) == set(counting.METHODS), "a registered method has no pipeline test contest"
    assert sorted(sum(GROUPS.values(), [])) == sorted(counting.METHODS)
    # Contests need not be on every area's ballot: pairwise-beta skips a district, so that district's
    # precincts report to the root.
    areas = _tree()
    contests["pairwise-beta"]["areas"] = [a["id"] for a in areas if a["id"] != "a2"]
    elections = {}
    for n, (key, methods) in enumerate(GROUPS.items()):
        chosen = [contests[x] for x in methods] + (_option_contests() if key == "methods-rounds" else [])
        definition = f.election(key, chosen, areas=areas)
        ballots = _ballots(definition, seed=n + 1)
        election_id, _ = f.load(stack.database_url, definition, ballots)
        elections[key] = (election_id, definition, ballots)
    stack.start_worker("w1", wait=False)
    stack.start_worker("w2", wait=False)
    stack.wait_for_workers(["w1", "w2"])

    stack.tally("advance")

    for key, (election_id, *_) in elections.items():
        wait_for(lambda e=election_id: _status(stack.database_url, e)[0] in ("COMPLETED", "FAILED"), 90, what=key)
        assert _status(stack.database_url, election_id) == ("COMPLETED", None)
    for election_id, definition, ballots in elections.values():
        expected = f.direct_count(definition, ballots)
        with session_scope(stack.database_url) as session:
            tallies = published(session, election_id)["tallies"]
            run = session.get(m.TallyRun, tallies[0]["tally_run_id"])
            assert (run.positions_tallied, run.areas_total) == (len(expected), sum(
                len(c.get("areas", definition["areas"])) for c in definition["contests"]))
        assert len(tallies) == 1  # one run published every contest of the election
        got = {c["contest"]: c["result"] for c in tallies[0]["contests"]}
        assert list(got) == list(expected)
        for contest_key in expected:
            assert got[contest_key] == expected[contest_key], contest_key
        assert all(got[k]["candidates"] for k in got)  # default operations give candidate results
        assert all(c["areas"][QUIET]["totals"]["total_votes"] == 0 for c in tallies[0]["contests"])
    assert "tally.process_areas" in stack.log("w1") and "tally.process_areas" in stack.log("w2")

    # The sample exercised what each method is about.
    results = {}
    for _election_id, definition, ballots in elections.values():
        results.update(f.direct_count(definition, ballots))
    meek = results["m-meek-stv"]
    assert len(meek["winners"]) == 3 and len(meek["rounds"]) > 1
    assert len({"m-meek-stv-c1", "m-meek-stv-c2"} & set(meek["winners"])) == 1
    assert len(results["m-instant-runoff"]["rounds"]) > 1
    assert any(r["exhausted_by"].get("overvote") for r in results["o-irv-overvotes"]["rounds"])
    assert results["m-cumulative"]["totals"]["invalid_reasons"].get("invalid-value")
    stv = results["m-rcv"]
    assert len(stv["winners"]) == 3 and len(stv["rounds"]) > 2
    assert any("." in str(v) for r in stv["rounds"] for v in r["tallies"].values())  # fractional transfers
    passes = results["o-rcv-multi-pass"]["passes"]
    assert [p["pass"] for p in passes] == [1, 2] and results["o-rcv-multi-pass"]["winners"] == [
        p["winners"][0] for p in passes]
    assert len(results["o-rcv-bottoms-up"]["winners"]) == 3
    assert "o-rcv-bottoms-up-c11" not in results["o-rcv-bottoms-up"]["rounds"][0]["tallies"]
    scottish = results["m-scottish-stv"]
    assert len(scottish["winners"]) == 3 and len(scottish["rounds"]) > 2
    assert any("." in str(v) for r in scottish["rounds"] for v in r["tallies"].values())  # 5-place transfers

    _area_results_through_the_cli(stack, elections["methods-additive"][0])


def _area_results_through_the_cli(stack, election_id: int) -> None:
    """`tally results ELECTION --area KEY`: that area's own result and its subtree's, per contest."""
    with session_scope(stack.database_url) as session:
        contests = published(session, election_id)["tallies"][0]["contests"]
    out = stack.tally("results", "methods-additive", "--area", "a1.2").stdout
    for contest in contests:
        own, subtree = contest["areas"]["a1.2"], contest["subtrees"]["a1.2"]
        assert own["totals"]["total_votes"] < subtree["totals"]["total_votes"]
        own_part = out.split(f"== {contest['contest']}, area a1.2 ==")[1].split("==")[0]
        subtree_part = out.split(f"== {contest['contest']}, area subtree a1.2 ==")[1].split("==")[0]
        for part, result in ((own_part, own), (subtree_part, subtree)):
            rows = {" ".join(line.split()[:-1]): line.split()[-1] for line in part.splitlines() if line.strip()}
            assert rows["Votes cast"] == str(result["totals"]["total_votes"]), (rows, result["totals"])
            assert rows["Census"] == str(result["census"])
            # an area elects nobody (issue 27): the contest's winners, apart from who leads here
            assert "Winners:" not in part
            assert f"Contest winners: {', '.join(contest['result']['winners']) or 'none'}" in part
            assert "Leading here: " in part
    # A leaf has no subtree result: only its own.
    leaf = stack.tally("results", "methods-additive", "--area", "a1.2.1").stdout
    assert "area a1.2.1 ==" in leaf and "area subtree a1.2.1" not in leaf
