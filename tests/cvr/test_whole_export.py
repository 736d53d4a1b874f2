"""A whole export in one pass (`tally load --cvr PATH --provider P --election KEY`, no `--contest`), in
process on real PostgreSQL: every contest it holds is defined from it (or matched to the election's own
definition), its precincts and portions become the area tree, each contest is voted where its records
came from, all of it one load batch; and what is published equals the engine's count of the same
ballots, contest by contest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

import models as m
from cli.main import main
from counting import count, parse_contest
from counting.ballots import Ballot
from models.db import session_scope
from tests.cvr.makers import write_hart
from tests.factories import election as definition_of


def _run(capsys, *argv) -> str:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def _manifest(folder: Path, name: str, items: list[dict]) -> None:
    (folder / name).write_text(json.dumps({"Version": "5", "List": items}))


MAYOR = {1: "Alice", 2: "Bob", 3: "Carol", 4: "Write-in"}
COUNCIL = {11: "Dan", 12: "Eve", 13: "Fay"}


def _dominion(folder: Path) -> list[tuple[int, int, tuple]]:
    """Two contests (mayor ranked, three ranks; council vote for two), two precincts of two portions each.
    Returns (contest, portion, marks) per contest occurrence, as written."""
    folder.mkdir()
    _manifest(folder, "ContestManifest.json", [{"Description": "Mayor", "Id": 1, "VoteFor": 1, "NumOfRanks": 3},
                                               {"Description": "City Council", "Id": 2, "VoteFor": 2, "NumOfRanks": 0}])
    _manifest(folder, "CandidateManifest.json",
              [{"Description": n, "Id": i, "ContestId": 1, "Type": "WriteIn" if n == "Write-in" else "Regular"}
               for i, n in MAYOR.items()] + [{"Description": n, "Id": i, "ContestId": 2, "Type": "Regular"}
                                             for i, n in COUNCIL.items()])
    _manifest(folder, "PrecinctManifest.json", [{"Description": "North", "Id": 1}, {"Description": "South", "Id": 2}])
    _manifest(folder, "PrecinctPortionManifest.json", [
        {"Description": "North A", "Id": 10, "PrecinctId": 1}, {"Description": "North B", "Id": 11, "PrecinctId": 1},
        {"Description": "South A", "Id": 20, "PrecinctId": 2}, {"Description": "South B", "Id": 21, "PrecinctId": 2}])
    written, sessions = [], []
    rankings = [((1, 1), (2, 2)), ((2, 1), (3, 2), (1, 3)), ((3, 1),), ((4, 1), (1, 2)), ((1, 1), (1, 2)), ()]
    picks = [((11, 1), (12, 1)), ((13, 1),), ((11, 1), (12, 1), (13, 1)), ()]
    for i in range(60):
        portion = (10, 11, 20, 21)[i % 4]
        contests = [(1, rankings[i % len(rankings)])]
        if portion != 21:  # South B does not vote for the council
            contests.append((2, picks[i % len(picks)]))
        sessions.append({"RecordId": i, "Original": {"PrecinctPortionId": portion, "IsCurrent": True, "Cards": [
            {"Contests": [{"Id": c, "OutstackConditionIds": [], "Marks": [
                {"CandidateId": cand, "Rank": rank, "IsAmbiguous": False} for cand, rank in marks]}
                for c, marks in contests]}]}})
        written += [(c, portion, marks) for c, marks in contests]
    (folder / "CvrExport_1.json").write_text(json.dumps({"Version": "5", "Sessions": sessions}))
    return written


def _published(tmp_path: Path, capsys, key: str) -> dict[str, dict]:
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == key))
        election_id, period_id = election.id, election.periods[0].id
    _run(capsys, "seal", election_id, period_id)
    _run(capsys, "run", election_id, period_id)
    _run(capsys, "export", key, "--out", tmp_path / key)
    (tally,) = json.loads((tmp_path / key / "results.json").read_text())["tallies"]
    return {c["contest"]: c["result"] for c in tally["contests"]}


def _engine(contest: dict, written, contest_id: int, names: dict[int, str] | None = None) -> dict:
    ballots = [Ballot(marks=tuple(((names or {}).get(c, str(c)), r) for c, r in marks))
               for c, _, marks in written if c == contest_id]
    return count(parse_contest(contest), ballots).to_json()


def test_a_dominion_export_defines_and_loads_every_contest_in_one_batch(embedded_db, capsys, tmp_path):
    written = _dominion(tmp_path / "export")
    out = _run(capsys, "load", "--cvr", tmp_path / "export", "--provider", "dominion", "--election", "city")
    assert "loaded 105 ballot(s) into 2 contest(s)" in out and "defined '1', '2'" in out, out
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "city"))
        parents = {a.key: a.parent.key if a.parent else None for a in election.areas}
        assert parents == {"root": None, "North": "root", "South": "root", "North A": "North", "North B": "North",
                           "South A": "South", "South B": "South"}
        contests = {c.key: c for c in election.contests}
        mayor, council = contests["1"], contests["2"]
        assert (mayor.name, mayor.method, mayor.seats, mayor.max_votes) == ("Mayor", "instant-runoff", 1, 3)
        assert (council.name, council.method, council.seats, council.max_votes) == ("City Council", "plurality-at-large", 2, 2)
        assert [(c.key, c.name, c.undeclared_write_in) for c in mayor.candidates][-1] == ("4", "Write-in", True)
        assert sorted(s.area.key for s in council.ballot_styles) == ["North A", "North B", "South A"]
        assert session.scalar(select(func.count()).select_from(m.LoadBatch)) == 1
    published = _published(tmp_path, capsys, "city")
    for key, contest_id in (("1", 1), ("2", 2)):
        row = {"id": key, "method": published[key]["method"], "seats": 1 if key == "1" else 2,
               "max_votes": 3 if key == "1" else 2,
               "candidates": [{"id": str(i), "name": n, **({"undeclared_write_in": True} if n == "Write-in" else {})}
                              for i, n in (MAYOR if key == "1" else COUNCIL).items()]}
        want = _engine(row, written, contest_id)
        assert published[key]["winners"] == want["winners"], key
        assert published[key]["totals"] == want["totals"], key


def test_an_export_is_matched_to_the_elections_own_definition(embedded_db, capsys, tmp_path):
    """Contests and candidates defined beforehand (other ids, the export's names) keep their rules;
    the export's ballots are mapped to them by name."""
    written = _dominion(tmp_path / "export")
    mayor = {"id": "mayor", "name": "Mayor", "method": "plurality-at-large", "seats": 1, "max_votes": 3,
             "candidates": [{"id": n.lower(), "name": n, **({"undeclared_write_in": True} if n == "Write-in" else {})}
                            for n in MAYOR.values()]}
    definition = definition_of("own", [mayor], areas=[{"id": "root", "name": "Root", "census": 0}], seal="manual",
                               ends_at="2999-01-01T00:00:00Z")
    (tmp_path / "definition.json").write_text(json.dumps(definition))
    _run(capsys, "load", "--definition", tmp_path / "definition.json")
    out = _run(capsys, "load", "--cvr", tmp_path / "export", "--provider", "dominion", "--election", "own")
    assert "defined '2'" in out and "'1'" not in out.split("defined")[1], out
    published = _published(tmp_path, capsys, "own")
    want = _engine(mayor, written, 1, {i: n.lower() for i, n in MAYOR.items()})
    assert published["mayor"]["method"] == "plurality-at-large"
    assert published["mayor"]["candidates"] == want["candidates"] and published["mayor"]["totals"] == want["totals"]


def test_an_export_candidate_the_definition_lacks_is_refused_and_nothing_is_loaded(embedded_db, capsys, tmp_path):
    _dominion(tmp_path / "export")
    mayor = {"id": "mayor", "name": "Mayor", "method": "instant-runoff", "seats": 1,
             "candidates": [{"id": "alice", "name": "Alice"}, {"id": "bob", "name": "Bob"}]}
    (tmp_path / "definition.json").write_text(json.dumps(definition_of("short", [mayor], seal="manual")))
    _run(capsys, "load", "--definition", tmp_path / "definition.json")
    code = main(["load", "--cvr", str(tmp_path / "export"), "--provider", "dominion", "--election", "short"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: contest 'mayor': the export's candidate 'Carol' (id '3') is not one of the election's")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(m.Ballot)) == 0
        assert session.scalar(select(func.count()).select_from(m.Contest)) == 1


def _cdf(path: Path) -> None:
    """Two contests, the definitions after the records; a precinct of two splits."""
    def cvr(unit, *contests):
        return {"CurrentSnapshotId": "s", "BallotStyleUnitId": unit, "CVRSnapshot": [{"@id": "s", "CVRContest": [
            {"ContestId": c, "CVRContestSelection": [{"ContestSelectionId": sel, "SelectionPosition": [
                {"HasIndication": "yes", "Rank": rank}]} for sel, rank in picks]} for c, picks in contests]}]}
    records = [cvr("split-1", ("k1", [("s-a", 1), ("s-b", 2)]), ("k2", [("s-y", 1)])),
               cvr("split-2", ("k1", [("s-b", 1)])), cvr("split-2", ("k1", [("s-a", 1)]), ("k2", [("s-n", 1)])),
               cvr("p-2", ("k1", [("s-a", 1), ("s-b", 1)]))]
    election = {"Candidate": [{"@id": "c-a", "Name": "Alice"}, {"@id": "c-b", "Name": "Bob"},
                              {"@id": "c-y", "Name": "Yes"}, {"@id": "c-n", "Name": "No"}],
                "Contest": [{"@id": "k1", "Name": "Mayor", "VoteVariation": "rcv", "ContestSelection": [
                    {"@id": "s-a", "CandidateIds": ["c-a"]}, {"@id": "s-b", "CandidateIds": ["c-b"]}]},
                    {"@id": "k2", "Name": "Measure 1", "VoteVariation": "plurality", "VotesAllowed": 1,
                     "ContestSelection": [{"@id": "s-y", "CandidateIds": ["c-y"]}, {"@id": "s-n", "CandidateIds": ["c-n"]}]}]}
    units = [{"@id": "p-1", "Name": "Precinct 1", "Type": "precinct", "ComposingGpUnitIds": ["split-1", "split-2"]},
             {"@id": "split-1", "Name": "Precinct 1 (split 1)", "Type": "split-precinct"},
             {"@id": "split-2", "Name": "Precinct 1 (split 2)", "Type": "split-precinct"},
             {"@id": "p-2", "Name": "Precinct 2", "Type": "precinct"}]
    path.write_text(json.dumps({"CVR": records, "Election": [election], "GpUnit": units}))


def test_a_cdf_file_loads_every_contest_with_splits_under_their_precinct(embedded_db, capsys, tmp_path):
    _cdf(tmp_path / "cvr.json")
    out = _run(capsys, "load", "--cvr", tmp_path / "cvr.json", "--provider", "cdf", "--election", "cdf")
    assert "loaded 6 ballot(s) into 2 contest(s)" in out, out
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "cdf"))
        parents = {a.key: a.parent.key if a.parent else None for a in election.areas}
        assert parents == {"root": None, "Precinct 1": "root", "Precinct 1 (split 1)": "Precinct 1",
                           "Precinct 1 (split 2)": "Precinct 1", "Precinct 2": "root"}
        contests = {c.key: (c.name, c.method, [k.key for k in c.candidates]) for c in election.contests}
        assert contests == {"k1": ("Mayor", "instant-runoff", ["c-a", "c-b"]),
                            "k2": ("Measure 1", "plurality-at-large", ["c-y", "c-n"])}
    published = _published(tmp_path, capsys, "cdf")
    assert published["k1"]["totals"]["invalid_reasons"] == {"overvote": 1}
    assert {c["id"]: c["total_count"] for c in published["k2"]["candidates"]} == {"c-y": 1, "c-n": 1}
    assert published["k1"]["totals"]["valid"] == 3  # split 1 ranks Alice then Bob; split 2, Bob; then Alice


def test_a_hart_export_loads_into_contests_defined_first(embedded_db, capsys, tmp_path):
    """Hart lists only the options marked and no seats: its contests must be defined first (refused,
    naming the contest, loading nothing, until they are); then each option maps by name."""
    write_hart(tmp_path / "archive", "1.xml", [("Alice", "g-a", "10"), ("Bob", "g-b", "01")])
    write_hart(tmp_path / "archive", "2.xml", [("Bob", "g-b", "10")])
    write_hart(tmp_path / "archive", "3.xml", [("Alice", "g-a", "1x")])
    write_hart(tmp_path / "archive", "4.xml", [("Alice", "g-a", "10")])
    argv = ["load", "--cvr", str(tmp_path / "archive"), "--provider", "hart", "--election", "hart"]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: contest 'Board' (id 'g-board'): a Hart CVR lists the options "
                                             "marked and not the contest's seats or rules; define it first")
    board = {"id": "board", "name": "Board", "method": "instant-runoff", "seats": 1, "max_votes": 2,
             "candidates": [{"id": "alice", "name": "Alice"}, {"id": "bob", "name": "Bob"}]}
    (tmp_path / "definition.json").write_text(json.dumps(definition_of(
        "hart", [board], areas=[{"id": "root", "name": "Root", "census": 0}], seal="manual", ends_at="2999-01-01T00:00:00Z")))
    _run(capsys, "load", "--definition", tmp_path / "definition.json")
    assert "loaded 4 ballot(s) into 1 contest(s)" in _run(capsys, *argv)
    published = _published(tmp_path, capsys, "hart")["board"]
    assert published["winners"] == ["alice"]  # two first choices of three valid ballots
    assert published["totals"]["invalid_reasons"] == {"malformed-marks": 1}


@pytest.mark.parametrize("provider", ["ess", "genericCsv"])
def test_a_provider_without_a_whole_export_reading_names_the_way_it_can_be_loaded(embedded_db, capsys, tmp_path, provider):
    (tmp_path / "cvr").write_text("x")
    code = main(["load", "--cvr", str(tmp_path / "cvr"), "--provider", provider, "--election", "e"])
    assert code == 2
    assert f"{provider!r} cannot be loaded whole (with --contest, one contest of it can)" in capsys.readouterr().err


def test_a_clear_ballot_file_loads_every_contest_its_columns_name(embedded_db, capsys, tmp_path):
    header = ["RowNumber", "PrecinctID"] + [
        f'"Choice_{i}_1:City, Ward 1:{r}:Number of Winners 1:{n}:NON"' for i, n in enumerate(["Alice", "Bob"]) for r in (1, 2)
    ] + [f'"Choice_{i}_1:Measure A:1:Number of Winners 1:{n}:NON"' for i, n in ((7, "Yes"), (8, "No"))]
    rows = ["1,P7,1,0,0,1,1,0", "2,P8,0,1,1,0,1,0", "3,P8,1,0,0,0,0,1", "4,P7,1,0,1,0,0,0"]
    (tmp_path / "cvr.csv").write_text("\n".join([",".join(header)] + rows) + "\n")
    out = _run(capsys, "load", "--cvr", tmp_path / "cvr.csv", "--provider", "clearBallot", "--election", "cb")
    assert "loaded 8 ballot(s) into 2 contest(s)" in out, out
    with session_scope() as session:
        election = session.scalar(select(m.Election).where(m.Election.key == "cb"))
        contests = {c.key: (c.method, c.seats, c.max_votes) for c in election.contests}
        assert contests == {"City, Ward 1": ("instant-runoff", 1, 2), "Measure A": ("plurality-at-large", 1, 1)}
        assert sorted(a.key for a in election.areas) == ["P7", "P8", "root"]
    published = _published(tmp_path, capsys, "cb")
    assert published["City, Ward 1"]["totals"]["invalid_reasons"] == {"overvote": 1}  # row 4: both at rank 1
    assert published["Measure A"]["winners"] == ["Yes"]
