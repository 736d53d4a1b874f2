"""The definition hash: one canonical document of everything in an election's definition that
changes a count, and its sha256 (docs/verify-spec.md says exactly what it covers).

It is recorded when the first ballots are loaded and when a period is sealed; loads and seals
refuse a definition that has changed since, finalize fails a run whose definition differs from the
sealed one, and audit.json publishes the document so that `tally verify` can check it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import entities as m

from services.public_format import definition_digest

FORMAT = "tally-definition/1"


def document(session: Session, election_id: int) -> dict:
    """Areas by id (parent, weight, census); contests in ballot order with their methods, seats,
    vote limits, policies, options, annotations, candidates in order, exclusion groups and ballot
    styles (area and its annotations, e.g. `tally_operation`). Names are left out: they change no
    count. Read with plain queries, so what another session committed since is what counts."""
    session.flush()
    run = session.execute
    a, c, k, g, s = (t.__table__.c for t in (m.Area, m.Contest, m.Candidate, m.ExclusionGroup, m.BallotStyle))
    area_rows = run(select(a.id, a.key, a.parent_id, a.weight, a.census).where(a.election_id == election_id)).all()
    area_key = {row.id: row.key for row in area_rows}
    contest_rows = run(select(c).where(c.election_id == election_id).order_by(c.position, c.id)).all()
    ids = [row.id for row in contest_rows]
    candidates: dict[int, list] = {i: [] for i in ids}
    for row in run(select(k).where(k.contest_id.in_(ids)).order_by(k.position, k.id)):
        candidates[row.contest_id].append(
            {"id": row.key, "tie_break_key": row.tie_break_key, "category": row.category, "gender": row.gender,
             "undeclared_write_in": row.undeclared_write_in}
        )
    groups: dict[int, list] = {i: [] for i in ids}
    for row in run(select(g).where(g.contest_id.in_(ids)).order_by(g.id)):
        groups[row.contest_id].append({"name": row.name, "members": list(row.members), "max_elected": row.max_elected})
    styles: dict[int, list] = {i: [] for i in ids}
    for row in run(select(s).where(s.contest_id.in_(ids))):
        styles[row.contest_id].append({"area": area_key[row.area_id], "annotations": dict(row.area_annotations or {})})
    return {
        "format": FORMAT,
        "areas": sorted(
            ({"id": row.key, "parent": area_key.get(row.parent_id), "weight": row.weight, "census": row.census}
             for row in area_rows),
            key=lambda area: area["id"],
        ),
        "contests": [
            {
                "id": row.key,
                "method": row.method,
                "seats": row.seats,
                "min_votes": row.min_votes,
                "max_votes": row.max_votes,
                "blank_policy": row.blank_policy,
                "options": dict(row.options or {}),
                "annotations": dict(row.annotations or {}),
                "candidates": candidates[row.id],
                "exclusion_groups": groups[row.id],
                "ballot_styles": sorted(styles[row.id], key=lambda style: style["area"]),
            }
            for row in contest_rows
        ],
    }


def current_hash(session: Session, election_id: int) -> str:
    return definition_digest(document(session, election_id))
