"""Reading a document as its bytes arrive (`counting.stream`) counts exactly what reading it whole counts.

The reference is the old reading: `json.loads` of the whole document, then `count_document`. Documents
are hostile on purpose: malformed records, strings and nested objects holding the `},` the reader cuts
at, a `"ballots": [` inside the contest, members in any order, any JSON spacing, blocks of any size.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from counting import METHODS, DefinitionError
from counting.interchange import count_document, count_read, read_stream
from counting.stream import DocumentStream, NotStreamable
from tests.engine.test_properties import HOSTILE_RECORDS, JSON_VALUES, SETTINGS, contests, records

BLOCK_SIZES = (1, 3, 16, 1 << 20)
CONTEST = {
    "id": "c1",
    "method": "instant-runoff",
    "candidates": [{"id": "A"}, {"id": "B"}, {"id": "a},b", "name": '"ballots": [1}, 2]'}],
}
# Text that looks like the places the reader cuts or starts at, inside strings.
TRICKY = st.sampled_from(["},", "}, {", '"ballots": [', "]}", "}]}", '\\"},', "A", "B", "a},b"])


def whole(data: bytes):
    """The document read whole and counted; a refusal as (field, message)."""
    try:
        return count_document(json.loads(data))
    except DefinitionError as exc:
        return exc.field, exc.message


def streamed(data: bytes, block: int):
    stream = DocumentStream(data[start : start + block] for start in range(0, len(data), block))
    members, grouped = read_stream(stream)
    try:
        return count_read(members, grouped)
    except DefinitionError as exc:
        return exc.field, exc.message


def assert_same(data: bytes, streamable: bool = True) -> None:
    expected = whole(data)
    for block in BLOCK_SIZES:
        try:
            assert streamed(data, block) == expected, block
        except NotStreamable:
            assert not streamable, f"read whole with blocks of {block}"


def dumps(document: dict, order: list[str], style: dict) -> bytes:
    return json.dumps({key: document[key] for key in order if key in document}, **style).encode()


STYLES = st.sampled_from(
    [
        {},
        {"indent": 2},
        {"indent": "\t"},
        {"separators": (",", ":")},
        {"separators": (" , ", " : ")},
        {"ensure_ascii": False},
    ]
)
TRICKY_RECORDS = st.fixed_dictionaries(
    {"marks": st.lists(st.tuples(TRICKY, st.integers(1, 3)).map(list), max_size=3)},
    optional={"weight": st.integers(1, 3)},
)


@st.composite
def documents(draw) -> tuple[dict, list[str], dict]:
    method = draw(st.sampled_from(sorted(METHODS)))
    contest = draw(st.sampled_from([CONTEST, {**CONTEST, "method": method}]) | contests(method) | JSON_VALUES)
    kind = METHODS[method].mark_kind
    record = HOSTILE_RECORDS | TRICKY_RECORDS | records(kind, ["A", "B", "C"])
    ballots = draw(st.lists(record, max_size=12))
    ballots = ballots * draw(st.integers(1, 3))  # repeats, as real ballots repeat
    document = {"contest": contest, "ballots": ballots}
    if draw(st.booleans()):
        document["census"] = draw(st.integers(0, 100) | JSON_VALUES)
    order = draw(st.permutations(sorted(document)))
    return document, order, draw(STYLES)


@given(documents())
@SETTINGS
def test_streaming_counts_what_the_whole_read_counts(case):
    document, order, style = case
    assert_same(dumps(document, order, style), streamable=False)


@pytest.mark.parametrize(
    "ballots",
    [
        [{"marks": [["A", 1]]}, 42, "x", None, [], {"marks": "A"}, {"weight": 0}, {"weight": True, "marks": []}],
        [{"marks": [["A", 1.0]]}, {"marks": [["A", True]]}, {"marks": [[7, 1]]}, {"marks": [["A", 2**70]]}],
        [{"marks": [["A", 1]], "weight": 2**70}, {"explicit_invalid": 1}, {"marks": [["A", 1], ["A", 1]]}],
        [{"marks": [{"A": 1}]}, {"marks": [["a},b", 1]]}, {"marks": [["B", 1]]}] * 2,
    ],
)
@pytest.mark.parametrize("style", [{}, {"indent": 2}, {"separators": (",", ":")}])
def test_malformed_records_are_classified_not_dropped(ballots, style):
    data = dumps({"contest": CONTEST, "ballots": ballots * 5}, ["contest", "ballots"], style)
    assert_same(data)
    result = streamed(data, 16)
    assert result["extended_metrics"]["total_ballots"] == len(ballots) * 5


@pytest.mark.parametrize(
    "text",
    [
        # the contest after the ballots, holding the bytes the reader cuts at
        '{"ballots": [{"marks": [["A", 1]]}, {"marks": [["B", 1]]}], "census": 9, "contest": %s}',
        # a "ballots" key inside the contest, before the document's own
        '{"contest": %s, "x": {"ballots": [{"marks": []}]}, "ballots": [{"marks": [["B", 1]]}]}',
        # a record holding `},` in a string, then records after it
        '{"contest": %s, "ballots": [{"marks": [["a},b", 1]]}, {"marks": []}, {"marks": [["A", 1]]}]}',
        # spacing the cuts do not see, and an empty array
        '{"contest": %s , "ballots" :\r\n[ {"marks": []} ,{"marks":[["A",1]]}\t]}',
        '{"contest": %s, "ballots": []}',
        # duplicate members: the last wins, as in json.loads
        '{"contest": {"id": "gone"}, "census": 1, "contest": %s, "ballots": [{"marks": []}], "census": 2}',
        # duplicate keys in a record
        '{"contest": %s, "ballots": [{"marks": [["A", 1]], "weight": 2, "weight": 1}, {"weight": 1, "weight": 0}]}',
        # a record that is an object nested in a list
        '{"contest": %s, "ballots": [[{"marks": [["A", 1]]}], {"marks": [["A", 1]]}]}',
    ],
)
def test_documents_the_reader_settles_itself(text):
    assert_same((text % json.dumps(CONTEST)).encode())


@pytest.mark.parametrize(
    "data",
    [
        b'{"contest": {}, "ballots": [{"marks": []}, ]}',  # a trailing comma
        b'{"contest": {}, "ballots": [{"marks": []}, {"marks": []}',  # truncated
        b'{"contest": {}, "ballots": [{"marks": []}], "ballots": []}',  # a second ballots member
        b'{"contest": {}, "ball\\u006fts": [{"marks": []}], "ballots": [{"marks": []}]}',
        b'{"contest": {}, "ballots": {"marks": []}}',  # not an array
        b'\xef\xbb\xbf{"contest": {}, "ballots": []}',  # a byte order mark
        '{"contest": {}, "ballots": []}'.encode("utf-16"),
        b'[{"contest": {}, "ballots": []}]',  # not an object
        b'{"contest": {}, "ballots": [{"marks": []}]} []',  # more after the document
        b'{"contest": {}, "ballots": [{"marks": [["\xff", 1]]}]}',  # not UTF-8
    ],
)
def test_what_it_cannot_settle_is_left_to_the_whole_read(data):
    for block in BLOCK_SIZES:
        with pytest.raises(NotStreamable):
            streamed(data, block)


def test_a_cut_inside_a_string_never_becomes_a_record():
    # Each half of this record parses on its own if the cut inside the string is taken for a record's end.
    record = {"marks": [["A", 1]], "note": '"}, {"marks": [["B", 1]], "x": "'}
    data = dumps({"contest": CONTEST, "ballots": [record] * 4}, ["contest", "ballots"], {})
    result = streamed(data, 7)
    assert result == whole(data)
    assert result["extended_metrics"]["total_ballots"] == 4
