"""Fuzzed election definitions: each is loaded whole or refused with a message naming a field,
never a crash and never half an election."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models import entities as m
from models.db import session_scope
from services.loading.definition import load_definition
from services.loading.fields import LoadError
from tests import factories as f
from tests.support import postgres_database

BASE = f.election(
    "fuzz-def",
    [f.contest("mayor", "instant-runoff", candidates=3, max_votes=3),
     f.contest("board", "meek-stv", candidates=4, seats=2,
               exclusion_groups=[{"name": "g", "members": ["board-c1", "board-c2"], "max_elected": 1}])],
    areas=f.area_tree((2,)),
)

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths(value, prefix=()):
    """Every place in the document a fuzzer may replace."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


PATHS = [p for p in _paths(BASE) if p]


def _mutated(path, replacement):
    doc = copy.deepcopy(BASE)
    node = doc
    for step in path[:-1]:
        node = node[step]
    if replacement is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = replacement
    return doc


_DELETE = object()


@pytest.fixture(scope="module")
def db():
    with postgres_database() as url:
        yield url


def _counts(url):
    with session_scope(url) as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in
                     (m.Election, m.VotingPeriod, m.Contest, m.Candidate, m.Area, m.BallotStyle, m.ExclusionGroup))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_definitions_load_whole_or_are_refused_naming_a_field(db, data):
    path = data.draw(st.sampled_from(PATHS))
    replacement = data.draw(st.just(_DELETE) | junk)
    doc = _mutated(path, replacement)
    before = _counts(db)
    key = f"fuzz-{before[0]}"
    if isinstance(doc.get("election"), dict):
        doc["election"]["id"] = key
    try:
        with session_scope(db) as session:
            load_definition(session, doc)
    except LoadError as exc:
        assert ":" in exc.message and exc.message.split(":")[0].strip(), exc.message
        assert _counts(db) == before, "a refused definition left rows behind"
        return
    after = _counts(db)
    assert after[0] == before[0] + 1  # loaded whole: one more election with all its parts
    assert all(a > b for a, b in zip(after[:6], before[:6], strict=True)), (path, replacement)
