"""cvr.spool: records read before their definitions come back in order and unchanged, whatever their
values (unhashable ones, more distinct values than it numbers, chunks of any size)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cvr import spool
from cvr.spool import WHOLE, Pending
from tests.engine.test_properties import SETTINGS

VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=3), st.tuples(st.text(max_size=2), st.integers(0, 3)),
                   st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.text(max_size=1), st.integers(), max_size=2))


@given(records=st.lists(st.tuples(VALUES, VALUES), max_size=60), distinct=st.integers(1, 5), chunk=st.sampled_from([2, 4, 1 << 16]))
@SETTINGS
def test_records_come_back_in_order_and_unchanged(records, distinct, chunk):
    saved = spool.CHUNK
    spool.CHUNK = chunk
    try:
        pending = Pending(fields=2, distinct=distinct)
        for record in records:
            pending.add(record)
        replayed = list(pending.replay())
    finally:
        spool.CHUNK = saved
    assert [tuple(value for _, value in row) for row in replayed] == records
    for row in replayed:
        for number, _ in row:
            assert number == WHOLE or 0 <= number < distinct
    # equal numbers mean equal values, so a reader may remember what it made of a number
    seen: dict[tuple[int, int], object] = {}
    for row in replayed:
        for field, (number, value) in enumerate(row):
            if number != WHOLE:
                assert seen.setdefault((field, number), value) == value
