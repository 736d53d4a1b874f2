"""The loader reads a ballots file as record texts (services.loading.ballot_file: cut at `},`, each distinct text
parsed once, texts that differ only in their area spliced from one template) or member by member
(`BallotFile.records()`), and both must read exactly the records, and refuse exactly the files, that
`tally count` reads and refuses (`json.loads` of the whole document): the same values of the same types,
in the same order, or a refusal. Files are hostile on purpose: `},` in strings and nested objects,
numbers and escapes past yajl's range, several records between two cuts, the ballots key anywhere,
blocks of any size. The one difference: a second `ballots` member, which `json.loads` reads as the last
one and the loader refuses, since a stream cannot know which is last."""

from __future__ import annotations

import json
from collections import Counter
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import public_format

from services.loading import ballot_file
from counting.stream import json_loads
from services.public_format import canonical_json
from services.loading.ballot_file import open_ballot_file
from services.loading.ballots import Spliced
from services.loading.fields import LoadError
from tests.engine.test_properties import HOSTILE_RECORDS, JSON_VALUES, SETTINGS

HEAD = b'{"election": "e", "period": "p", "ballots": ['
RECORD = b'{"contest": "mayor", "area": "a1", "marks": [["A", 1]]}'


REFUSED = "refused"


def by_json(path) -> str:
    """The records as `tally count` reads the document whole, or REFUSED."""
    data = path.read_bytes()
    try:
        document = json_loads(data.removeprefix(b"\xef\xbb\xbf"), object_pairs_hook=_no_second_ballots)
    except (ValueError, RecursionError):
        return REFUSED
    if not isinstance(document, dict) or not isinstance(document.get("ballots"), list) or not {
            "election", "period"} <= document.keys():
        return REFUSED
    return repr(document["ballots"])


def _no_second_ballots(pairs):
    if [key for key, _ in pairs].count("ballots") > 1:
        raise ValueError("a second ballots member")
    return dict(pairs)


def by_members(path) -> str:
    try:
        return repr(list(open_ballot_file(path).records()))
    except LoadError:
        return REFUSED


def by_texts(path) -> str:
    """The records as the loader gets them from the texts, before it replaces any reading."""
    try:
        records = []
        for texts, readings in open_ballot_file(path).texts().chunks():
            if texts is None:
                records += readings
                continue
            for reading in readings:
                if type(reading) is Spliced:
                    records.append({**reading.template.record, "area": reading.area})
                else:
                    records += reading
        return repr(records)  # repr: 1, 1.0 and True apart, and the keys' order
    except LoadError:
        return REFUSED


@pytest.fixture(params=[1 << 20, 7, 64], ids=["1MB-blocks", "7B-blocks", "64B-blocks"])
def blocks(request, monkeypatch):
    monkeypatch.setattr(ballot_file, "BLOCK", request.param)
    if request.param < 1000:  # a small tail too, so that a file's end is read member by member as well
        monkeypatch.setattr(ballot_file, "TAIL_LIMIT", 200)
    return request.param


def assert_same(tmp_path, data: bytes) -> str:
    path = tmp_path / "ballots.json"
    path.write_bytes(data)
    expected = by_json(path)
    assert by_members(path) == expected
    assert by_texts(path) == expected
    return expected


def ballots(*records: bytes, sep: bytes = b",\n", head: bytes = HEAD, end: bytes = b"]}") -> bytes:
    return head + sep.join(records) + end


CASES = {
    "plain": ballots(RECORD, RECORD.replace(b"a1", b"a2"), RECORD),
    "empty": ballots(),
    "a comma before the end": ballots(RECORD, RECORD, end=b",]}"),
    "cut inside a string": ballots(RECORD, b'{"contest": "mayor", "area": "a1", "note": "x},{y", "marks": []}', RECORD),
    "cut inside a nested object": ballots(RECORD, b'{"contest": "mayor", "x": {"a": {"b": 1},"c": 2}, "area": "a1"}',
                                          RECORD),
    "big integers": ballots(RECORD, b'{"contest": "mayor", "area": "a1", "weight": 9223372036854775807}',
                            b'{"contest": "mayor", "area": "a1", "weight": 9223372036854775808}'),
    "the biggest integer": ballots(RECORD, b'{"contest": "mayor", "area": "a1", "weight": 9223372036854775807}',
                                   b'{"area": "a1", "w": -9223372036854775807, "x": 123456789012345678}'),
    "the smallest integer yajl refuses": ballots(RECORD, b'{"area": "a1", "w": -9223372036854775808}'),
    "a huge integer": ballots(RECORD, b'{"area": "a1", "w": ' + b"7" * 5000 + b"}"),
    "floats": ballots(b'{"area": "a1", "w": 1.0, "x": 1E2, "y": -0.0, "z": 2.5e-324, "q": 0.30000000000000004}',
                      b'{"area": "a1", "w": -0, "x": 1e-400, "y": 123456789012345678.5}'),
    "a float past the double range": ballots(RECORD, b'{"area": "a1", "w": 1e400}', RECORD),
    "NaN": ballots(RECORD, b'{"area": "a1", "w": NaN}', RECORD),
    "Infinity": ballots(RECORD, b'{"area": "a1", "w": -Infinity}', RECORD),
    "duplicate keys": ballots(b'{"area": "a1", "marks": [], "area": "a2", "marks": [["A", 1]]}',
                              b'{"area": "a1", "area": "a1", "marks": []}', b'{"area": "a3", "area": "a2"}'),
    "not objects": ballots(RECORD, b"1", b'"x"', b"[1, {}]", b"null", RECORD),
    "not an object last": ballots(RECORD, b"[]"),
    "several records between cuts": ballots(RECORD, RECORD, RECORD.replace(b"a1", b"a2"), sep=b" ,\n"),
    "no cut at all": ballots(*[RECORD] * 50, sep=b"\n,"),
    "bad JSON mid-file": ballots(RECORD, RECORD, b'{"contest": "mayor", "area": "a1", "marks": [}', RECORD),
    "truncated": ballots(RECORD, RECORD, RECORD)[:-30],
    "trailing garbage": ballots(RECORD, RECORD) + b" x",
    "a second document": ballots(RECORD) + b" {}",
    "ballots before election and period": b'{"ballots": [' + b",".join([RECORD] * 3) + b'], "election": "e", "period": "p"}',
    "ballots between them": b'{"election": "e", "ballots": [' + RECORD + b"," + RECORD + b'], "period": "p"}',
    "members after the ballots holding cuts": ballots(RECORD, RECORD, end=b'], "x": {"a": {"b": 1},"c": [{"d": 2},{}]}}'),
    "a second ballots key": ballots(RECORD, end=b'], "ballots": [' + RECORD + b"]}"),
    "an escaped ballots key before": b'{"ball\\u006fts": [' + RECORD + b'], "election": "e", "period": "p", "ballots": ['
                                     + RECORD + b"]}",
    "a ballots key inside a string": b'{"election": "e\\"ballots\\": [", "period": "p", "ballots": [' + RECORD + b"]}",
    "lone high surrogate": ballots(RECORD, b'{"area": "a1", "s": "\\ud800"}', RECORD),
    "lone low surrogate": ballots(RECORD, b'{"area": "a1", "s": "\\udc00x"}', RECORD),
    "high surrogate then a letter": ballots(b'{"area": "a1", "s": "\\ud800\\u0041"}'),
    "surrogate pair": ballots(b'{"area": "a1", "s": "\\ud83d\\ude00"}', RECORD),
    "surrogate bytes": ballots(RECORD, b'{"area": "a1", "s": "\xed\xa0\x80"}'),
    "invalid UTF-8": ballots(RECORD, b'{"area": "a1", "s": "\xff"}'),
    "invalid UTF-8 in an area": ballots(RECORD, RECORD.replace(b"a1", b"a\xff")),
    "UTF-8": ballots(RECORD, RECORD.replace(b"a1", "a\u00e9\U0001f600".encode())),
    "escaped area": ballots(RECORD, RECORD.replace(b"a1", b"a\\u0031"), RECORD.replace(b"a1", b'a\\"1')),
    "area not a string": ballots(RECORD, RECORD.replace(b'"a1"', b"1"), RECORD.replace(b'"a1"', b"[1]")),
    "area as the sentinel": ballots(RECORD.replace(b"a1", ballot_file._SENTINEL), RECORD),
    "an area key in a nested object": ballots(b'{"x": {"area": "a1"}, "area": "a2"}', b'{"x": {"area": "a3"}, "area": "a2"}'),
    "an area key in a string": ballots(b'{"s": "\\"area\\": \\"a1\\"", "area": "a2"}'),
    "control character": ballots(RECORD, b'{"area": "a1", "s": "\x01"}'),
    "form feed as space": ballots(RECORD, b'\x0c{"area": "a1"}'),
    "byte order mark": b"\xef\xbb\xbf" + ballots(RECORD),
    "deep record": ballots(RECORD, b'{"area": "a1", "x": ' + b"[" * 900 + b"]" * 900 + b"}"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_file_is_read_as_tally_count_reads_it(tmp_path, blocks, name):
    assert_same(tmp_path, CASES[name])


def test_the_cases_read_what_they_say(tmp_path):
    """A few of the cases, checked against what `json` makes of them, so that they test what they name:
    values past yajl's range read as `tally count` reads them (and count invalid there), not a refusal."""
    read = {name: assert_same(tmp_path, CASES[name]) for name in CASES}
    assert "'w': inf" in read["a float past the double range"] and "'w': nan" in read["NaN"]
    assert "9223372036854775808" in read["big integers"]
    assert read["a huge integer"] == REFUSED  # more digits than Python converts (4,300): `json` refuses it too
    assert "'\\ud800'" in read["lone high surrogate"] and "'\\udc00x'" in read["lone low surrogate"]
    assert read["duplicate keys"].startswith("[{'area': 'a2', 'marks': [['A', 1]]}")
    assert read["several records between cuts"].count("'mayor'") == 3
    assert read["a second ballots key"] == REFUSED
    assert "-0.0" in read["floats"] and "1.0," in read["floats"] and "'w': 0," in read["floats"]


def test_texts_that_differ_only_in_their_area_are_spliced_from_one_parse(tmp_path):
    areas = [f"a{i}" for i in range(30)]
    records = [RECORD.replace(b"a1", a.encode()) for a in areas] * 2
    path = tmp_path / "ballots.json"
    path.write_bytes(ballots(*records))
    readings = [r for texts, block in open_ballot_file(path).texts().chunks() if texts for r in block]
    parsed = {id(r): r for r in readings if type(r) is list}
    spliced = [r for r in readings if type(r) is Spliced]
    # Parsed: the first text (no newline before it) and the second, the template of all the others.
    assert [r[0]["area"] for r in parsed.values()] == ["a0", "a1"]
    assert len(spliced) == 60 - 2 - 2 and {r.area for r in spliced} == set(areas) - {"a1"}  # a1 again: a repeat
    assert len({id(r.template) for r in spliced}) == 1
    assert by_texts(path) == by_json(path) == by_members(path)


RECORDS = st.fixed_dictionaries(
    {"contest": st.sampled_from(["mayor", "council", 1]), "area": st.sampled_from(["a1", "a2", "a\u00e9", 2])},
    optional={
        "marks": st.lists(st.tuples(st.sampled_from(["A", "B", "x},{y", '"area": "a2"']), st.integers(1, 3))
                          .map(list), max_size=3) | JSON_VALUES,
        "weight": st.integers(1, 3) | st.integers() | st.floats(),
        "note": JSON_VALUES,
        "where": st.sampled_from(["a1", "a3"]),
    },
) | HOSTILE_RECORDS
STYLES = st.sampled_from([{}, {"separators": (",", ":")}, {"separators": (" , ", " : ")}, {"indent": 1},
                          {"ensure_ascii": False}])


@given(records=st.lists(RECORDS, max_size=12), style=STYLES, first=st.booleans(), block=st.sampled_from([3, 50, 1 << 20]))
@SETTINGS
def test_any_file_is_read_as_tally_count_reads_it(tmp_path_factory, records, style, first, block):
    document = {"election": "e", "period": "p", "ballots": records}
    if not first:
        document = {"ballots": records, "period": "p", "election": "e"}
    path = tmp_path_factory.mktemp("texts") / "ballots.json"
    path.write_text(json.dumps(document, **style), encoding="utf-8", errors="surrogatepass")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ballot_file, "BLOCK", block)
        assert by_texts(path) == by_json(path) == by_members(path)


@given(st.dictionaries(st.text("0123456789abcdef", min_size=64, max_size=64), st.integers(1, 10**6)))
@SETTINGS
def test_the_content_digest_is_the_one_of_its_sorted_pairs(hashes):
    old = public_format.sha256(canonical_json(sorted([h, n] for h, n in hashes.items())))
    assert public_format.content_digest(Counter(hashes)) == old


@given(st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=20))
@SETTINGS
def test_chain_over_is_link_in_turn(hashes):
    start = "0" * 64
    assert public_format.chain_over(start, [h.encode() for h in hashes]) == reduce(public_format.link, hashes, start)


def _stored(url: str, election_key: str) -> tuple[list, tuple]:
    """The election's ballot rows in id order, by contest and area key, and its load batch's figures."""
    from sqlalchemy import text

    from models.db import session_scope

    with session_scope(url) as session:
        rows = session.execute(text(
            "SELECT c.key, a.key, b.marks, b.weight, b.explicit_invalid, b.defect, b.raw FROM ballots b"
            " JOIN contests c ON c.id = b.contest_id JOIN areas a ON a.id = b.area_id"
            " JOIN elections e ON e.id = c.election_id WHERE e.key = :key ORDER BY b.id"), {"key": election_key}).all()
        batch = session.execute(text(
            "SELECT records, weight, content_digest, chain_before, chain_after FROM load_batches l"
            " JOIN elections e ON e.id = l.election_id WHERE e.key = :key"), {"key": election_key}).one()
    return [tuple(r) for r in rows], tuple(batch)


def _write_rows(self, contest_id, area_id, contents):
    """The COPY writer before: psycopg's `write_row` for each row."""
    prefix = (*self.ids, contest_id, area_id)
    for content in contents:
        self.copy.write_row(prefix + content)


@pytest.mark.integration
def test_the_texts_store_the_rows_the_records_and_write_row_stored(pg_url, tmp_path, monkeypatch):
    """Loaded from its texts (small blocks, a small cache of texts), a hostile file stores exactly the rows,
    in the same order, and the same batch (chain heads, content digest) as the records read member by member and written row by
    row through `write_row`: the loader and its COPY before this reading."""
    from models.db import session_scope
    from services.loading.ballots import load_ballots
    from services.loading.definition import load_definition
    from services.storage import postgres
    from tests import factories as f

    contests = [f.contest("mayor", "instant-runoff", candidates=4), f.contest("board", "approval", candidates=3)]
    ballots = f.random_ballots(f.election("x", contests), 400, seed=9)
    odd = "tab\there, newline\nthere, backslash \\ and \\N, quote \", \u00e9\U0001f600"
    ballots += [
        {"contest": "mayor", "area": ballots[0]["area"], "marks": odd},  # kept verbatim: a raw text to escape
        {"contest": "mayor", "area": ballots[1]["area"], "marks": [[odd, 1]], "weight": 3},
        {"contest": "board", "area": ballots[2]["area"], "marks": [["board-c1", 1.0]], "explicit_invalid": True},
        {"contest": "board", "area": ballots[3]["area"], "marks": [["board-c2", 1]], "weight": 2.5, "x": {"y": []}},
    ] * 3
    reports = {}
    for key in ("texts", "rows"):
        with session_scope(pg_url) as session:
            load_definition(session, f.election(key, contests))
        path = tmp_path / f"{key}.json"
        path.write_text(json.dumps({"election": key, "period": "main", "ballots": ballots}, indent=1))
        with monkeypatch.context() as patch:
            ballots_file = open_ballot_file(path)
            if key == "texts":
                patch.setattr(ballot_file, "BLOCK", 256)
                patch.setattr("services.loading.ballots.TEXTS_KEPT", 20)
                records = ballots_file.texts()
            else:
                patch.setattr(postgres._CopyWriter, "write", _write_rows)
                records = ballots_file.records()
            with session_scope(pg_url) as session:
                report = load_ballots(session, key, "main", records, file_sha256=ballots_file.sha256)
            reports[key] = (report.loaded, report.stored_raw, report.by_contest)
    assert reports["texts"] == reports["rows"] and reports["texts"][0] == len(ballots) and reports["texts"][1] > 3
    assert _stored(pg_url, "texts") == _stored(pg_url, "rows")
