"""`tally demo`: load a sample election (several areas, a few thousand ballots) whose voting period
has ended, seal its ballots, tally it through the pipeline and print the results. Embedded by default."""

from __future__ import annotations

import random
import time
from datetime import timedelta

from sqlalchemy import select

from services.read import payloads
from counting.methods import METHODS
from models import entities as m
from models.db import session_scope, upgrade
from scheduler.advance import advance
from services.lifecycle import periods, runs
from services.read import results
from services.lifecycle.dispatch import send_pending
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from services.lifecycle.commands import SealPeriod

from .common import EXIT_FAILED, EXIT_UNAVAILABLE, fail
from .dispatcher import install_dispatcher
from .operations import render

DEMO_KEY = "demo"
CANDIDATES = {
    "council": ["ada", "ben", "chloe", "dev", "eva", "finn"],
    "mayor": ["alvarez", "baker", "chen", "diallo"],
    "board": ["kim", "lopez", "moreau", "novak", "okafor"],
}


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="load a sample election, tally it and print the results")
    p.add_argument("--ballots", type=int, default=3000, help="ballots per contest (default 3000)")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--fresh", action="store_true",
                   help=f"load and tally a new copy even if the sample election {DEMO_KEY!r} exists")
    p.set_defaults(func=cmd_demo)


def definition(key: str, ended_at) -> dict:
    districts = {"north": ["n1", "n2", "n3"], "south": ["s1", "s2", "s3"]}
    areas = [{"id": "city", "name": "City", "census": 0}]
    for district, precincts in districts.items():
        areas.append({"id": district, "name": district.title(), "parent": "city", "census": 0})
        areas += [{"id": p, "name": p.upper(), "parent": district, "census": 800} for p in precincts]
    contests = [
        {
            "id": "council", "name": "City council", "method": "plurality-at-large", "seats": 3,
            "min_votes": 0, "max_votes": 3, "candidates": [{"id": c, "name": c.title()} for c in CANDIDATES["council"]],
        },
        {
            "id": "mayor", "name": "Mayor", "method": "instant-runoff", "seats": 1, "max_votes": 4,
            "candidates": [{"id": c, "name": c.title()} for c in CANDIDATES["mayor"]],
        },
        {
            "id": "board", "name": "Utility board", "method": "meek-stv", "seats": 2, "max_votes": 5,
            "candidates": [{"id": c, "name": c.title()} for c in CANDIDATES["board"]],
            "exclusion_groups": [{"name": "incumbents", "members": ["kim", "lopez"], "max_elected": 1}],
        },
    ]
    return {
        "election": {"id": key, "name": "Sample city election"},
        "voting_periods": [{"name": "main", "ends_at": ended_at.isoformat()}],
        "areas": areas,
        "contests": [c for c in contests if c["method"] in METHODS],
    }


def sample_ballots(contests: list[dict], count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    precincts = ["n1", "n2", "n3", "s1", "s2", "s3"]
    ballots = []
    for contest in contests:
        names = [c["id"] for c in contest["candidates"]]
        popularity = [len(names) - i for i in range(len(names))]
        for _ in range(count):
            area = rng.choice(precincts)
            roll = rng.random()
            if roll < 0.02:
                ballots.append({"contest": contest["id"], "area": area, "marks": []})
                continue
            if roll < 0.03:
                ballots.append({"contest": contest["id"], "area": area, "marks": [], "explicit_invalid": True})
                continue
            order = _weighted_order(rng, names, popularity)
            if contest["method"] == "plurality-at-large":
                marks = [[c, 1] for c in order[: rng.randint(1, contest["max_votes"])]]
            else:
                marks = [[c, r + 1] for r, c in enumerate(order[: rng.randint(1, len(order))])]
            if roll < 0.04:
                marks.append([order[0], 1])  # a repeated mark: implicitly invalid, counted as such
            ballots.append({"contest": contest["id"], "area": area, "marks": marks})
    return ballots


def _weighted_order(rng: random.Random, names: list[str], weights: list[int]) -> list[str]:
    pool, w, out = list(names), list(weights), []
    while pool:
        i = rng.choices(range(len(pool)), weights=w)[0]
        out.append(pool.pop(i))
        w.pop(i)
    return out


def cmd_demo(args) -> int:
    install_dispatcher()
    upgrade()
    with session_scope() as session:
        existing = session.scalar(select(m.Election).where(m.Election.key == DEMO_KEY))
        key = DEMO_KEY if existing is None else (_fresh_key(session) if args.fresh else None)
        if key is None:
            election_id, period_id = existing.id, existing.periods[0].id
            print(f"the sample election {DEMO_KEY!r} exists already (id {election_id}, period id {period_id}); "
                  "`tally demo --fresh` loads and tallies a new copy")
        else:
            doc = definition(key, periods.now() - timedelta(seconds=1))
            report = load_definition(session, doc)
            loaded = load_ballots(session, key, "main", sample_ballots(doc["contests"], args.ballots, args.seed))
            election_id = report.election_id
            period_id = session.get(m.Election, election_id).periods[0].id
    if key is not None:
        print(f"loaded election {key!r} (id {election_id}, period id {period_id}): {loaded.loaded} ballots in "
              "6 precincts")
        with session_scope() as session:  # imported after the polls closed: sealed by hand, then tallied
            SealPeriod(election_id, period_id, by="demo").run(session)
    with session_scope() as session:
        advance(session)
    send_pending()
    deadline = time.monotonic() + args.timeout
    while True:
        with session_scope() as session:
            published = results.published(session, election_id)
            state = payloads.tally_status(runs.status(session, election_id, period_id))
        if published["tallies"]:
            print(render(published))
            return 0
        if state["status"] == "FAILED":
            return fail(f"tally failed: {state['error']} (retry: tally run {election_id} {period_id})", EXIT_FAILED)
        if time.monotonic() > deadline:
            return fail(f"tally not finished after {args.timeout:.0f} s (status {state['status']}); are workers running?",
                        EXIT_UNAVAILABLE)
        time.sleep(0.5)


def _fresh_key(session) -> str:
    taken = set(session.scalars(select(m.Election.key).where(m.Election.key.like(f"{DEMO_KEY}-%"))))
    return next(f"{DEMO_KEY}-{n}" for n in range(2, len(taken) + 3) if f"{DEMO_KEY}-{n}" not in taken)
