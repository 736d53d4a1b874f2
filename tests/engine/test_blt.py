"""BLT files (OpenSTV, OpaVote, ERS): the six Scottish wards of the shared corpus, every feature of the format,
and every malformed file refused with the line that is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from counting import Ballot, Candidate, DefinitionError, count
from counting.blt import BltError, parse_blt

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "scotland-2017"
WARDS = sorted(p.stem for p in CORPUS.glob("*.blt"))

FULL = """\ufeff# an OpenSTV file with every feature\r
4 2   # candidates, seats\r
-4\r
\r
3 1 2 0\r
2 2=3 1 0  # 2 and 3 ranked equal\r
1 3 - 1 0\r
1 4 0\r
1 4 2 0\r
(b17) 1 2 3 2 0\r
0\r
"Alice Adams"  # the first candidate\r
"Bob #2 Brown"\r
Carol Cole\r
"Dan (withdrawn)"\r
"A test, with a comma"\r
# trailing comment\r
"""


def test_the_corpus_has_six_wards():
    assert len(WARDS) == 6


@pytest.mark.parametrize("name", WARDS)
def test_every_ward_reads_with_its_names_seats_and_ballots(name):
    text = (CORPUS / f"{name}.blt").read_text(encoding="utf-8")
    election = parse_blt(text, f"{name}.blt")
    sheet = json.loads((CORPUS / f"{name}.official.json").read_text(encoding="utf-8"))
    assert election.seats == sheet["seats"]
    assert {c.id: c.name for c in election.candidates} == sheet["candidates"]
    assert election.withdrawn == ()
    assert election.title and not election.title.startswith('"')
    first_preferences: dict[str, int] = {}
    for ballot in election.ballots:
        first = [c for c, rank in ballot.marks if rank == 1]
        assert len(first) == 1
        first_preferences[first[0]] = first_preferences.get(first[0], 0) + ballot.weight
    assert {c: f"{v}" for c, v in first_preferences.items()} == {
        c: v.split(".")[0] for c, v in sheet["stages"][0].items() if float(v) > 0
    }
    assert len(election.ballots) == sum(1 for line in text.splitlines() if line.strip().endswith(" 0"))


def test_the_highland_title_is_quoted_and_the_others_bare():
    titles = {name: parse_blt((CORPUS / f"{name}.blt").read_text(encoding="utf-8"), name).title for name in WARDS}
    assert titles["highland_2017_ward5"] == "Ward 5 - Wester Ross, Strathpeffer and Lochalsh"
    assert titles["aberdeen_2017_ward9"] == "Lower Deeside Ward"


def test_every_feature_of_the_format():
    election = parse_blt(FULL, "full.blt")
    assert (election.title, election.seats, election.withdrawn) == ("A test, with a comma", 2, ("4",))
    assert election.candidates == (
        Candidate("1", "Alice Adams"), Candidate("2", "Bob #2 Brown"), Candidate("3", "Carol Cole"),
        Candidate("4", "Dan (withdrawn)"),
    )
    assert election.ballots == (
        Ballot((("1", 1), ("2", 2)), 3),
        Ballot((("2", 1), ("3", 1), ("1", 2)), 2),  # equal rankings: two candidates at one rank
        Ballot((("3", 1), ("1", 3)), 1),  # `-`: rank 2 left out, a gap
        Ballot((), 1),  # only the withdrawn candidate: blank
        Ballot((("2", 1),), 1),  # the withdrawn candidate's place removed, the next moves up
        Ballot((("2", 1), ("3", 2), ("2", 3)), 1),  # a repeat, kept for validation to judge
    )
    assert election.ballot_ids == (None, None, None, None, None, "b17")
    assert election.max_rank == 3
    assert [c.id for c in election.standing] == ["1", "2", "3"]


def test_the_contest_and_its_count():
    election = parse_blt(FULL, "full.blt")
    contest = election.contest("scottish-stv")
    assert (contest.id, contest.method, contest.seats, contest.candidate_ids) == (
        "A test, with a comma", "scottish-stv", 2, ("1", "2", "3"))
    assert contest.max_votes is None  # no ballot ranks more than the 3 standing candidates
    assert election.contest("meek-stv", contest_id="x", options={"quota": "droop-dynamic"}).options == {
        "quota": "droop-dynamic"}
    result = count(contest, election.ballots).to_json()
    assert result["totals"]["blank"] == 1
    assert result["totals"]["invalid_reasons"] == {"duplicate-candidate": 1, "overvote": 2}
    assert result["totals"]["valid"] == 5
    with pytest.raises(DefinitionError) as err:
        election.contest("no-such-method")
    assert err.value.field == "contest.method"


def test_a_ballot_with_no_preferences_is_blank_and_comments_may_end_any_line():
    election = parse_blt("2 1 # header\n1 0\n2 1 0 # two for A\n0 # end\nA\nB\nTitle # kept: a bare line is whole\n", "x")
    assert election.ballots == (Ballot((), 1), Ballot((("1", 1),), 2))
    assert election.title == "Title # kept: a bare line is whole"


def test_a_contest_id_falls_back_to_the_source_name_and_ranks_beyond_the_candidates_widen_max_votes():
    election = parse_blt('2 1\n1 1 2 1 2 0\n0\n"A"\n"B"\n""\n', "dir/city-hall.blt")
    assert election.title == ""
    contest = election.contest("scottish-stv")
    assert (contest.id, contest.max_votes) == ("city-hall", 4)
    assert count(contest, election.ballots).to_json()["totals"]["invalid_reasons"] == {"duplicate-candidate": 1}


BAD = [
    ("", 1, "the file ends before the first line"),
    ("# only a comment\n\n", 2, "the file ends before the first line"),
    ("3\n", 1, "expected 'candidates seats'"),
    ("3 2 1\n", 1, "expected 'candidates seats'"),
    ("three 2\n", 1, "expected 'candidates seats'"),
    ("0 1\n", 1, "at least one candidate"),
    ("3 0\n", 1, "seats must be at least 1"),
    ("3 1\n", 1, "the file ends before the ballots"),
    ("3 1\n-4\n", 2, "there is no candidate 4"),
    ("3 1\n-2 -2\n", 2, "withdrawn twice"),
    ("3 1\n1 1 2\n", 2, "must end with 0"),
    ("3 1\n# c\n1 1 4 0\n", 3, "there is no candidate 4"),
    ("3 1\n1 1 x 0\n", 2, "must be a candidate number"),
    ("3 1\n1 1 2=z 0\n", 2, "must be a candidate number"),
    ("3 1\n0 1 2 0\n", 2, "weight must be a whole number from 1"),
    ("3 1\n1000001 1 0\n", 2, "weight must be a whole number from 1"),
    ("3 1\n1.5 1 0\n", 2, "expected a ballot"),
    ("3 1\n1\n", 2, "must end with 0"),
    ("3 1\n(id) 2 1 0\n", 2, "an id must have weight 1"),
    ("3 1\n1 1 0\n2 2 0\n", 3, "the file ends before the line '0'"),
    ('3 1\n1 1 0\n0\n"A"\n"B"\n', 5, "the name of candidate 3"),
    ('3 1\n1 1 0\n0\n"A"\n"B\n"C"\n"T"\n', 5, "closing quote"),
    ('3 1\n1 1 0\n0\n"A"\n"B"\n"C"\n', 6, "the file ends before the title"),
    ('3 1\n1 1 0\n0\n"A"\n"B"\n"C"\n"T"\n\n"more"\n', 9, "unexpected text after the title"),
    ("3 1\r\n1 1 0\r\n-1\r\n", 3, "expected a ballot"),
]


@pytest.mark.parametrize("text, line, message", BAD)
def test_a_malformed_file_is_refused_naming_its_line(text, line, message):
    with pytest.raises(BltError) as err:
        parse_blt(text, "ward.blt")
    assert isinstance(err.value, DefinitionError)  # the CLI's error for input it cannot count
    assert (err.value.source, err.value.line) == ("ward.blt", line)
    assert err.value.field == f"ward.blt: line {line}"
    assert message in err.value.message
    assert str(err.value).startswith(f"ward.blt: line {line}: ")
