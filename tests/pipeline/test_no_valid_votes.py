"""With no valid votes a contest elects nobody, through the pipeline as in `tally count` (issue 29): real
workers publish, for each contest whose ballots are all blank or invalid, the engine's result (no winners,
the note saying why), whether it is decided from its areas' summed totals (plurality) or their pooled
ballots (instant-runoff, meek-stv), and with ties left to an official nobody is asked; an area where
nobody voted validly elects nobody in its own result while its contest elects; `tally verify` agrees."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import counting
from counting.interchange import load_document
from counting.outcome import NO_VALID_VOTES
from models import entities as m
from models.db import session_scope
from services.read.results import published
from tests import factories as f
from tests.support import wait_for

pytestmark = pytest.mark.integration

AREAS = f.area_tree((2,))  # root, a1, a2
QUIET = "a2"  # in the "assembly" contest, only blank ballots are cast here


def _contests() -> list[dict]:
    return [
        f.contest("council", "plurality-at-large", candidates=3, seats=2, max_votes=2),
        f.contest("mayor", "instant-runoff", candidates=3),
        f.contest("board", "meek-stv", candidates=4, seats=2, options={"tie_break": "official"}),
        f.contest("assembly", "approval", candidates=3, seats=1),
    ]


def _ballots() -> list[dict]:
    out = []
    for i, area in enumerate(["root", "a1", "a2"] * 4):
        for key in ("council", "mayor", "board"):
            if i % 3 == 0:
                out.append({"contest": key, "area": area, "marks": []})  # blank
            elif i % 3 == 1:
                out.append({"contest": key, "area": area, "marks": [[f"{key}-c1", 1]], "explicit_invalid": True})
            else:
                out.append({"contest": key, "area": area, "marks": [["nobody", 1]], "weight": 2})  # unknown
        votes = [] if area == QUIET else [[f"assembly-c{1 + i % 2}", 1]]
        out.append({"contest": "assembly", "area": area, "marks": votes})
    return out


def _area_count(contest: dict, ballots: list[dict], area: str, census: int) -> dict:
    records = [{k: v for k, v in b.items() if k not in ("contest", "area")}
               for b in ballots if b["contest"] == contest["id"] and b["area"] == area]
    engine_contest, parsed = load_document({"contest": contest, "ballots": records})
    return counting.count(engine_contest, parsed, census=census).to_json()


def _status(url: str, election_id: int) -> str:
    with session_scope(url) as session:
        run = session.scalar(select(m.TallyRun).where(m.TallyRun.election_id == election_id))
        return run.status.value if run else "NONE"


@pytest.mark.slow
def test_the_pipeline_publishes_no_winners_as_the_engine_does(stack):
    definition = f.election("zero-votes", _contests(), areas=AREAS)
    ballots = _ballots()
    election_id, _ = f.load(stack.database_url, definition, ballots)
    stack.start_worker("w1")
    stack.tally("advance")
    wait_for(lambda: _status(stack.database_url, election_id) in ("COMPLETED", "FAILED", "WAITING"), 90,
             what="the tally")
    assert _status(stack.database_url, election_id) == "COMPLETED"  # the official's ties: none to wait for

    expected = f.direct_count(definition, ballots)
    with session_scope(stack.database_url) as session:
        (tally,) = published(session, election_id)["tallies"]
    got = {c["contest"]: c for c in tally["contests"]}
    for key in ("council", "mayor", "board"):
        result = got[key]["result"]
        assert result == expected[key], key
        assert result["winners"] == [] and result["notes"] == [NO_VALID_VOTES] and result["totals"]["valid"] == 0
        assert result["totals"]["total_votes"] == 16
        for scope in (got[key]["areas"], got[key]["subtrees"]):  # areas and subtrees, where they have results
            assert all(r is None or r.get("winners", []) == [] for r in scope.values()), key

    assembly = got["assembly"]
    assert assembly["result"] == expected["assembly"] and assembly["result"]["winners"]
    quiet = assembly["areas"][QUIET]
    assert quiet == _area_count(_contests()[3], ballots, QUIET, census=100)
    assert quiet["winners"] == [] and quiet["notes"] == [NO_VALID_VOTES] and quiet["totals"]["blank"] == 4
    assert assembly["areas"]["a1"]["winners"] and assembly["subtrees"]["root"]["winners"]

    out = stack.workdir / "public"
    stack.cli("export", "zero-votes", "--out", str(out))
    verified = stack.cli("verify", *(str(out / name) for name in ("ballots.json", "audit.json", "results.json")))
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # the results site and its downloads show such a contest, its rounds absent and the note given
    site = stack.workdir / "site"
    stack.cli("report", "zero-votes", "--out", str(site))
    pages = {p.name: p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    assert sum(NO_VALID_VOTES in text for text in pages.values()) >= 3, sorted(pages)
    assert "mayor" in stack.tally("results", "zero-votes", "--format", "csv").stdout
    for key in ("mayor", "board"):  # RCTab's summary layout, for a round-based method's contest without rounds
        assert stack.tally("results", "zero-votes", "--format", "csv", "--contest", key).stdout
    stack.cli("results", "zero-votes", "--format", "xlsx", "--out", str(stack.workdir / "all.xlsx"))
