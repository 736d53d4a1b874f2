"""Sample elections for pipeline tests, and the direct count they must equal."""

from __future__ import annotations

import random
from collections import defaultdict

from sqlalchemy import select

import counting
from counting.interchange import load_document
from models.db import session_scope
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition


def area_tree(levels: tuple[int, ...] = (3, 3), census: int = 100) -> list[dict]:
    """A root with `levels[0]` children, each with `levels[1]` children, ... (ids a, a.1, a.1.2...)."""
    areas = [{"id": "root", "name": "Root", "census": census}]
    frontier = ["root"]
    for fanout in levels:
        nxt = []
        for parent in frontier:
            for i in range(1, fanout + 1):
                key = f"{parent}.{i}" if parent != "root" else f"a{i}"
                areas.append({"id": key, "parent": parent, "census": census})
                nxt.append(key)
        frontier = nxt
    return areas


def election(key: str, contests: list[dict], areas: list[dict] | None = None, ends_at: str = "2020-01-01T00:00:00Z",
             seal: str = "at-close"):
    """A definition whose one period ("main") is sealed when it closes, so that ballots loaded
    before `advance` closes it are tallied by beat; seal="manual" waits for `tally seal`."""
    return {
        "election": {"id": key, "name": f"Test {key}"},
        "voting_periods": [{"name": "main", "ends_at": ends_at, "seal": seal}],
        "areas": areas or area_tree(),
        "contests": contests,
    }


def contest(key: str, method: str, candidates: int = 4, seats: int = 1, **extra) -> dict:
    doc = {
        "id": key,
        "method": method,
        "seats": seats,
        "candidates": [{"id": f"{key}-c{i}", "name": f"Candidate {i}"} for i in range(1, candidates + 1)],
    }
    doc.update(extra)
    return doc


def random_ballots(definition: dict, per_contest: int, seed: int = 1, hostile: bool = True) -> list[dict]:
    """Skewed ballots (many repeat), with blanks, explicit invalids and, if `hostile`, unknown
    candidates and overvotes."""
    rng = random.Random(seed)
    area_ids = [a["id"] for a in definition["areas"]]
    out = []
    for c in definition["contests"]:
        names = [x["id"] for x in c["candidates"]]
        areas = c.get("areas", area_ids)
        method = counting.METHODS[c["method"]]
        for _ in range(per_contest):
            area = rng.choice(areas)
            roll = rng.random()
            record = {"contest": c["id"], "area": area}
            if roll < 0.03:
                record["marks"] = []
            elif roll < 0.05:
                record.update(marks=[[names[0], 1]], explicit_invalid=True)
            elif hostile and roll < 0.06:
                record["marks"] = [["nobody", 1]]
            elif hostile and roll < 0.07:
                record["marks"] = [[names[0], 1], [names[1], 1]] + ([[names[2], 1]] if len(names) > 2 else [])
            else:
                order = sorted(names, key=lambda n: rng.random() * (1 + names.index(n)))
                depth = rng.randint(1, min(len(order), c.get("max_votes") or len(order)))
                if method.mark_kind == "rank":
                    record["marks"] = [[n, r + 1] for r, n in enumerate(order[:depth])]
                elif method.mark_kind == "pair":
                    record["marks"] = [[order[i], order[i + 1]] for i in range(depth - 1)] or [[order[0], order[-1]]]
                else:
                    record["marks"] = [[n, 1] for n in order[:depth]]
                if rng.random() < 0.2:
                    record["weight"] = rng.randint(2, 4)
            out.append(record)
    return out


def load(url: str, definition: dict, ballots: list[dict]) -> tuple[int, int]:
    """Load into the database at `url`; returns (election id, period id)."""
    with session_scope(url) as session:
        report = load_definition(session, definition)
        load_ballots(session, definition["election"]["id"], "main", ballots)
    with session_scope(url) as session:
        from models import entities as m

        election = session.get(m.Election, report.election_id)
        return election.id, election.periods[0].id


def load_more(url: str, definition: dict, period: str, ballots: list[dict]) -> int:
    """Load ballots into another period of a loaded election; returns the period's id."""
    from models import entities as m

    with session_scope(url) as session:
        load_ballots(session, definition["election"]["id"], period, ballots)
    with session_scope(url) as session:
        election = session.scalar(select(m.Election).where(m.Election.key == definition["election"]["id"]))
        return next(p.id for p in election.periods if p.name == period)


def direct_count(definition: dict, ballots: list[dict]) -> dict[str, dict]:
    """Each contest counted by the engine over all its ballots pooled (weights x area weights)."""
    area_weight = {a["id"]: a.get("weight", 1) for a in definition["areas"]}
    census = {a["id"]: a.get("census", 0) for a in definition["areas"]}
    by_contest = defaultdict(list)
    for b in ballots:
        record = {k: v for k, v in b.items() if k not in ("contest", "area")}
        if area_weight[b["area"]] != 1:
            record["weight"] = record.get("weight", 1) * area_weight[b["area"]]
        by_contest[b["contest"]].append(record)
    out = {}
    for c in definition["contests"]:
        contest_census = sum(census[a] for a in c.get("areas", census))
        doc = {"contest": {k: v for k, v in c.items() if k not in ("areas", "area_annotations")},
               "ballots": by_contest[c["id"]]}
        engine_contest, parsed = load_document(doc)
        out[c["id"]] = counting.count(engine_contest, parsed, census=contest_census).to_json()
    return out


def weighted(areas: list[dict], weights: dict[str, int], census: dict[str, int] | None = None) -> list[dict]:
    """The same areas with some weights (and, if given, census) changed."""
    census = census or {}
    return [
        {**a, **({"weight": weights[a["id"]]} if a["id"] in weights else {}),
         **({"census": census[a["id"]]} if a["id"] in census else {})}
        for a in areas
    ]


def split_areas(n: int, census_total: int, seed: int = 1) -> list[dict]:
    """n areas in a three-level tree (a root, about sqrt(n) districts, the rest precincts) whose
    census adds up to `census_total`; n = 1 gives a single root area holding all of it."""
    rng = random.Random(seed)
    if n == 1:
        return [{"id": "root", "census": census_total}]
    districts = max(1, min(n - 1, round((n - 1) ** 0.5)))
    keys = ["root"] + [f"d{i}" for i in range(1, districts + 1)]
    areas = [{"id": "root"}] + [{"id": k, "parent": "root"} for k in keys[1:]]
    for i in range(n - len(areas)):
        parent = keys[1 + i % districts]
        areas.append({"id": f"{parent}.p{i}", "parent": parent})
    cuts = sorted(rng.sample(range(1, census_total), n - 1))
    for area, low, high in zip(areas, [0] + cuts, cuts + [census_total], strict=True):
        area["census"] = high - low
    return areas


def respread(ballots: list[dict], area_ids: list[str], seed: int = 1) -> list[dict]:
    """The same ballots cast in other areas (chosen at random among `area_ids`)."""
    rng = random.Random(seed)
    return [{**b, "area": rng.choice(area_ids)} for b in ballots]


def cumulative_checks(ballots: list[dict], contest_key: str, checks: int, seed: int = 1) -> list[dict]:
    """Give the contest's single-check marks 1..checks checks each (and a few one too many)."""
    rng = random.Random(seed)
    out = []
    for b in ballots:
        if b["contest"] == contest_key and not b.get("explicit_invalid") and b.get("marks"):
            b = {**b, "marks": [[c, rng.randint(1, checks + (rng.random() < 0.02))] for c, _ in b["marks"]]}
        out.append(b)
    return out


def contested_ballots(definition: dict, contest_key: str, n: int, seed: int = 1) -> list[dict]:
    """Ranked ballots that put the favourite of random_ballots (the first candidate) last, after one
    to three others in random order: first choices spread enough for a count over several rounds."""
    rng = random.Random(seed)
    contest = next(c for c in definition["contests"] if c["id"] == contest_key)
    names = [x["id"] for x in contest["candidates"]]
    areas = contest.get("areas") or [a["id"] for a in definition["areas"]]
    out = []
    for _ in range(n):
        order = rng.sample(names[1:], len(names) - 1)[: rng.randint(1, 3)] + names[:1]
        out.append({"contest": contest_key, "area": rng.choice(areas),
                    "marks": [[cid, r + 1] for r, cid in enumerate(order)]})
    return out


def started_run(url: str, election_id: int, period_id: int):
    """Close and seal the period and start a run in-process without dispatching anything (the
    caller plays the area tasks); returns (run id, plan: one list of AreaBatches per contest)."""
    from models import entities as m
    from services.lifecycle import periods, sealing
    from services.pipeline.plan import start

    with session_scope(url) as session:
        period = session.get(m.VotingPeriod, period_id)
        if period.status == m.PeriodStatus.OPEN:
            periods.close_period(session, period, "test")
        if period.sealed_at is None:
            sealing.seal_period(session, period, "test")
        run = m.TallyRun(election_id=election_id, voting_period_id=period_id)
        session.add(run)
        session.flush()
        return run.id, start(session, run.id)


def staged_run(url: str, election_id: int, period_id: int) -> int:
    """A started run whose area tasks and contest steps have all run in-process: ready to finalize."""
    from services.pipeline.area import process_areas
    from services.pipeline.contest import aggregate_contest

    run_id, plan = started_run(url, election_id, period_id)
    for batches in plan:
        for batch in batches:
            with session_scope(url) as session:
                process_areas(session, run_id, batch.contest_id, list(batch.area_ids))
        with session_scope(url) as session:
            aggregate_contest(session, run_id, batches[0].contest_id)
    return run_id
