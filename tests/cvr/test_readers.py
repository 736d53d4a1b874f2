"""Each CVR reader on small files made here: marks kept as cast (overvotes, repeats, gaps,
write-ins, unknown names), malformed records kept and counted invalid with a reason, and files that
cannot be read refused (`tally count --rctab-config` exits 2 naming the file, the row or record,
and the field)."""

from __future__ import annotations

import json

import pytest

from cvr.errors import CvrError
from tests.cvr.makers import (
    CDF, ESS, NAMES, cdf_document, cdf_pick, dominion_session, make_config, read_records, run_count, write_dominion, write_hart, write_xlsx,
)

def test_ess_cells_become_marks_as_cast(tmp_path):
    write_xlsx(tmp_path / "cvr.xlsx", [
        ["id", "precinct", "1", "2", "3"],
        [1, "P1", "Alice ", "undervote", "Bob"],          # a gap, trailing spaces trimmed
        [2, "P2", "Alice|Bob", "Carol", None],            # an overvote written with the delimiter
        [3, "P2", "overvote", "Carol", "Carol"],          # an explicit overvote, a repeat
        [4, None, "UWI", "Zed", None],                    # a write-in, an unknown name
    ])
    records = read_records(make_config(tmp_path, ESS))
    assert [r.precinct for r in records] == ["P1", "P2", "P2", None]
    marks = [set(r.ballot.marks) for r in records]
    assert marks[0] == {("Alice", 1), ("Bob", 3)}
    assert marks[1] == {("Alice", 1), ("Bob", 1), ("Carol", 2)}
    assert marks[2] == {("Alice", 1), ("Bob", 1), ("Carol", 2), ("Carol", 3)}  # two at rank 1: an overvote
    assert marks[3] == {("Undeclared Write-ins", 1), ("Zed", 2)}


def test_ess_unknown_name_is_counted_invalid_never_dropped(tmp_path, capsys):
    write_xlsx(tmp_path / "cvr.xlsx", [["id", "p", "1", "2"], [1, "P", "Alice", None], [2, "P", "Zed", "Bob"]])
    code, result, err = run_count(capsys, make_config(tmp_path, ESS))
    assert code == 0, err
    assert result["totals"]["total_votes"] == 2
    assert result["totals"]["invalid_reasons"] == {"unknown-candidate": 1}


def test_ess_blank_cells_as_write_ins(tmp_path):
    write_xlsx(tmp_path / "cvr.xlsx", [["id", "p", "1", "2"], [1, "P", None, "Bob"]])
    source = {**ESS, "treatBlankAsUndeclaredWriteIn": True}
    (record,) = read_records(make_config(tmp_path, source, maxRankingsAllowed="2"))
    assert set(record.ballot.marks) == {("Undeclared Write-ins", 1), ("Bob", 2)}


def test_ess_empty_rows_the_sheet_holds_are_ballots_ranking_nobody_as_in_rctab(tmp_path, capsys):
    """RCTab reads every row element from the first vote row on as a ballot: a formatted empty row
    (in the middle or after the last ballot) is an undervote; a row the sheet does not hold is none."""
    import xlsxwriter

    with xlsxwriter.Workbook(tmp_path / "cvr.xlsx") as book:
        sheet = book.add_worksheet()
        for number, row in enumerate([["id", "p", "1", "2"], [1, "P", "Alice", None], None, [3, "P", "Bob", "Alice"]]):
            if row is None:
                sheet.set_row(number, 20)  # held, with nothing in it
            else:
                sheet.write_row(number, 0, row)
        sheet.set_row(9, 20)  # rows 5 to 9 are not held; row 10 is
    code, result, err = run_count(capsys, make_config(tmp_path, ESS))
    assert code == 0, err
    assert result["totals"]["total_votes"] == 4 and result["totals"]["blank"] == 2
    assert "2 records counted: empty spreadsheet rows, as ballots ranking nobody" in err


def test_ess_rows_not_held_after_the_last_ballot_are_no_ballots(tmp_path, capsys):
    write_xlsx(tmp_path / "cvr.xlsx", [["id", "p", "1", "2"], [1, "P", "Alice", None]])
    code, result, err = run_count(capsys, make_config(tmp_path, ESS))
    assert code == 0, err
    assert result["totals"]["total_votes"] == 1 and "counted" not in err


def test_an_unreadable_workbook_exits_2_naming_the_file(tmp_path, capsys):
    (tmp_path / "cvr.xlsx").write_text("not a workbook")
    code, _, err = run_count(capsys, make_config(tmp_path, ESS))
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'cvr.xlsx'}: not a readable .xlsx workbook")


def test_cdf_json_selections_become_marks(tmp_path):
    doc = cdf_document([cdf_pick("s0", 1), cdf_pick("s1", 1), cdf_pick("s2", 2, "no"), cdf_pick("sw", 3), cdf_pick("s2", 3)])
    (tmp_path / "cvr.json").write_text(json.dumps(doc))
    (record,) = read_records(make_config(tmp_path, CDF))
    assert record.precinct == "Precinct One"
    assert set(record.ballot.marks) == {("Alice", 1), ("Bob", 1), ("Undeclared Write-ins", 3), ("Carol", 3)}


def test_cdf_json_rank_that_is_not_a_number_is_kept_as_malformed(tmp_path, capsys):
    (tmp_path / "cvr.json").write_text(json.dumps(cdf_document([cdf_pick("s0", "first")])))
    code, result, err = run_count(capsys, make_config(tmp_path, CDF))
    assert code == 0, err
    assert result["totals"]["invalid_reasons"] == {"malformed-marks": 1}


def test_cdf_json_invalid_json_names_the_record(tmp_path, capsys):
    text = json.dumps(cdf_document([cdf_pick("s0", 1)]))
    broken = text.replace('"CurrentSnapshotId": "s1"', '"CurrentSnapshotId" "s1"', 1)
    (tmp_path / "cvr.json").write_text(broken)
    code, _, err = run_count(capsys, make_config(tmp_path, CDF))
    assert code == 2
    assert f"error: {tmp_path / 'cvr.json'}: CVR 1: invalid JSON: Expecting ':' delimiter" in err


def test_cdf_unknown_contest_names_contest_id_and_the_contests(tmp_path, capsys):
    (tmp_path / "cvr.json").write_text(json.dumps(cdf_document([cdf_pick("s0", 1)], contest_name="Council")))
    code, _, err = run_count(capsys, make_config(tmp_path, CDF))
    assert code == 2
    assert "contestId: 'Mayor' names no contest of the file (contests: 'Council')" in err


CDF_XML = """<?xml version="1.0"?>
<CastVoteRecordReport xmlns="NIST_V0_cast_vote_records.xsd">
  <CVR><BallotStyleUnitId>p1</BallotStyleUnitId><CurrentSnapshotId>s1</CurrentSnapshotId>
    <CVRSnapshot ObjectId="s1"><CVRContest><ContestId>k1</ContestId>
      <CVRContestSelection><ContestSelectionId>s0</ContestSelectionId>
        <SelectionPosition><HasIndication>yes</HasIndication><Rank>2</Rank></SelectionPosition></CVRContestSelection>
      <CVRContestSelection><ContestSelectionId>s1</ContestSelectionId>
        <SelectionPosition><HasIndication>yes</HasIndication><Rank>1</Rank></SelectionPosition></CVRContestSelection>
    </CVRContest></CVRSnapshot></CVR>
  <CVR><CurrentSnapshotId>s2</CurrentSnapshotId><CVRSnapshot ObjectId="s2"><CVRContest><ContestId>other</ContestId>
  </CVRContest></CVRSnapshot></CVR>
  <Election ObjectId="e">
    <Candidate ObjectId="c0"><Name>Alice</Name></Candidate><Candidate ObjectId="c1"><Name>Bob</Name></Candidate>
    <Contest ObjectId="k1"><Name>Mayor</Name>
      <ContestSelection ObjectId="s0"><CandidateIds>c0</CandidateIds></ContestSelection>
      <ContestSelection ObjectId="s1"><CandidateIds>c1</CandidateIds></ContestSelection></Contest>
  </Election>
  <GpUnit ObjectId="p1"><Name>Precinct One</Name></GpUnit>
</CastVoteRecordReport>"""


def test_cdf_xml_is_streamed_and_a_record_without_the_contest_is_not_a_ballot_of_it(tmp_path):
    (tmp_path / "cvr.xml").write_text(CDF_XML)
    (record,) = read_records(make_config(tmp_path, {**CDF, "filePath": "cvr.xml"}))
    assert record.precinct == "Precinct One"
    assert set(record.ballot.marks) == {("Bob", 1), ("Alice", 2)}


def test_cdf_xml_passes_over_a_selection_to_adjudicate_and_a_mark_not_allocable(tmp_path):
    """As RCTab reads CDF XML: a selection whose Status is needs-adjudication is no mark yet, and a
    position that IsAllocable "no" is passed over."""
    xml = CDF_XML.replace("<SelectionPosition>", "<SelectionPosition><IsAllocable>no</IsAllocable>", 1)
    (tmp_path / "cvr.xml").write_text(xml)
    (record,) = read_records(make_config(tmp_path, {**CDF, "filePath": "cvr.xml"}))
    assert len(record.ballot.marks) == 1
    xml = CDF_XML.replace("<SelectionPosition>", "<Status>needs-adjudication</Status><SelectionPosition>", 1)
    (tmp_path / "cvr.xml").write_text(xml)
    (record,) = read_records(make_config(tmp_path, {**CDF, "filePath": "cvr.xml"}))
    assert len(record.ballot.marks) == 1


def test_cdf_json_passes_over_a_mark_not_allocable(tmp_path):
    pick = cdf_pick("s1", 2)
    pick["SelectionPosition"][0]["IsAllocable"] = "no"
    (tmp_path / "cvr.json").write_text(json.dumps(cdf_document([cdf_pick("s0", 1), pick])))
    (record,) = read_records(make_config(tmp_path, CDF))
    assert set(record.ballot.marks) == {("Alice", 1)}


def test_cdf_xml_syntax_error_names_the_line(tmp_path, capsys):
    (tmp_path / "cvr.xml").write_text(CDF_XML.replace("</Rank>", "</Rnk>", 1))
    code, _, err = run_count(capsys, make_config(tmp_path, {**CDF, "filePath": "cvr.xml"}))
    assert code == 2
    assert f"error: {tmp_path / 'cvr.xml'}: line 6: invalid XML" in err


def test_clear_ballot_reads_quoted_commas_and_names_a_short_row(tmp_path, capsys):
    header = ['"RowNumber"', '"PrecinctID"'] + [
        f'"Choice_{i}_1:City, Ward 1:{r}:Number of Winners 1:{n}:NON"' for i, n in enumerate(NAMES) for r in (1, 2)]
    rows = ["1,7,1,0,0,1,0,0", "2,8,0,0,1,0,0,1"]
    (tmp_path / "cvr.csv").write_text("\n".join([",".join(header)] + rows) + "\n")
    config = make_config(tmp_path, {"provider": "clearBallot", "filePath": "cvr.csv", "contestId": "City, Ward 1"})
    records = read_records(config)
    assert [set(r.ballot.marks) for r in records] == [{("Alice", 1), ("Bob", 2)}, {("Bob", 1), ("Carol", 2)}]
    assert [r.precinct for r in records] == ["7", "8"]
    (tmp_path / "cvr.csv").write_text("\n".join([",".join(header), rows[0], "3,9,1"]) + "\n")
    code, _, err = run_count(capsys, config)
    assert code == 2 and f"{tmp_path / 'cvr.csv'}: row 3: has 3 fields, the header 8" in err


def test_generic_csv_ranks_per_candidate_column_and_a_bad_cell_is_malformed(tmp_path, capsys):
    (tmp_path / "cvr.csv").write_text("id,Alice,Bob,Carol\nr1,2,1,\nr2,1,x,\nr3,1,1,2\n")
    config = make_config(tmp_path, {"provider": "genericCsv", "filePath": "cvr.csv", "firstVoteColumnIndex": "2"},
                     overvoteRule="exhaustImmediately")
    records = read_records(config)
    assert set(records[0].ballot.marks) == {("Bob", 1), ("Alice", 2)}
    assert records[1].ballot.defect == "malformed-marks"
    code, result, err = run_count(capsys, config)
    assert code == 0, err
    assert result["totals"]["invalid_reasons"] == {"malformed-marks": 1}
    assert result["rounds"][0]["exhausted_by"] == {"overvote": 1}


def test_dominion_reads_the_current_interpretation_and_its_precinct(tmp_path):
    write_dominion(tmp_path / "export", [dominion_session([(1, 1), (2, 2)]), dominion_session([(1, 1)], modified=[(3, 1), (3, 2)])])
    config = make_config(tmp_path, {"provider": "dominion", "filePath": "export", "contestId": "1"})
    records = read_records(config)
    assert [set(r.ballot.marks) for r in records] == [{("Alice", 1), ("Bob", 2)}, {("Carol", 1), ("Carol", 2)}]
    assert {r.precinct for r in records} == {"Precinct 9"}


def test_dominion_without_precinct_manifest_has_no_precinct_data(tmp_path):
    write_dominion(tmp_path / "export", [dominion_session([(1, 1)])], precincts=False)
    (record,) = read_records(make_config(tmp_path, {"provider": "dominion", "filePath": "export", "contestId": "1"}))
    assert record.precinct is None


def test_dominion_folder_without_export_is_refused(tmp_path):
    write_dominion(tmp_path / "export", [])
    (tmp_path / "export" / "CvrExport_1.json").unlink()
    with pytest.raises(CvrError, match="no CvrExport"):
        read_records(make_config(tmp_path, {"provider": "dominion", "filePath": "export", "contestId": "1"}))


def test_hart_option_values_are_ranks_and_a_bad_value_is_malformed(tmp_path):
    write_hart(tmp_path / "archive", "1.xml", [("Alice", "g-a", "010"), ("Robert", "g-b", "100")])
    write_hart(tmp_path / "archive", "2.xml", [("Alice", "g-a", "1x0")])
    candidates = [{"name": "Alice"}, {"name": "Bob", "aliases": ["g-b"]}, {"name": "Carol"}]
    records = read_records(make_config(tmp_path, {"provider": "hart", "filePath": "archive", "contestId": "g-board"}, candidates))
    assert set(records[0].ballot.marks) == {("Bob", 1), ("Alice", 2)}
    assert records[0].precinct == "PRC1"
    assert records[1].ballot.defect == "malformed-marks"


def test_cdf_write_in_without_a_write_in_candidate_keeps_the_name_written(tmp_path, capsys):
    written = {"SelectionPosition": [{"HasIndication": "yes", "Rank": 1, "CVRWriteIn": {"Text": "John Smith"}}]}
    (tmp_path / "cvr.json").write_text(json.dumps(cdf_document([written])))
    config = make_config(tmp_path, {k: v for k, v in CDF.items() if k != "undeclaredWriteInLabel"})
    (record,) = read_records(config)
    assert record.ballot.marks == (("John Smith", 1),)
    code, result, err = run_count(capsys, config)
    assert code == 0, err
    assert result["totals"]["invalid_reasons"] == {"unknown-candidate": 1}


def test_hart_reads_a_zip_archive_like_a_folder(tmp_path):
    import zipfile

    write_hart(tmp_path / "archive", "1.xml", [("Alice", "g-a", "010"), ("Bob", "g-b", "100")])
    write_hart(tmp_path / "archive", "2.xml", [("Carol", "g-c", "100")])
    with zipfile.ZipFile(tmp_path / "cvrs.zip", "w") as archive:
        for member in ("1.xml", "2.xml"):
            archive.write(tmp_path / "archive" / member, f"export/{member}")
    folder = read_records(make_config(tmp_path, {"provider": "hart", "filePath": "archive", "contestId": "g-board"}))
    zipped = read_records(make_config(tmp_path, {"provider": "hart", "filePath": "cvrs.zip", "contestId": "Board"}))
    assert [r.ballot for r in zipped] == [r.ballot for r in folder]
    assert set(zipped[1].ballot.marks) == {("Carol", 1)}


def test_dominion_takes_rctabs_interpretation_and_counts_left_out_records_apart(tmp_path, capsys):
    """`Original` when it says IsCurrent (even with a `Modified`), else `Modified`; a session with
    neither, and a contest under outstack condition 7, are left out and reported, as RCTab does."""
    current = dominion_session([(1, 1)], modified=[(2, 1)])
    current["Original"]["IsCurrent"] = True
    adjudicated = dominion_session([(1, 1)], modified=[(3, 1)])
    adjudicated["Original"]["IsCurrent"] = False
    unadjudicated = dominion_session([(1, 1)])
    unadjudicated["Original"]["IsCurrent"] = False
    outstack = dominion_session([(2, 1)])
    outstack["Original"]["Cards"][0]["Contests"][0]["OutstackConditionIds"] = [3, 7]
    kept = dominion_session([(2, 1)])
    kept["Original"]["Cards"][0]["Contests"][0]["OutstackConditionIds"] = [3]
    write_dominion(tmp_path / "export", [current, adjudicated, unadjudicated, outstack, kept])
    config = make_config(tmp_path, {"provider": "dominion", "filePath": "export", "contestId": "1"})
    assert [r.ballot.marks for r in read_records(config)] == [(("Alice", 1),), (("Carol", 1),), (("Bob", 1),)]
    code, result, err = run_count(capsys, config)
    assert code == 0, err
    assert result["totals"]["total_votes"] == 3
    assert err.splitlines() == [
        "warning: 1 record left out: a Dominion session with no current interpretation (Original not current, no Modified)",
        "warning: 1 record left out: a contest with Dominion's outstack condition 7 (exclude the contest)",
    ]


def test_cdf_definitions_before_or_after_the_records_read_alike(tmp_path):
    """The definitions may come first or last in the file: the one-pass reading spools what it
    cannot map yet, and the records come out the same, in file order."""
    document = cdf_document([cdf_pick("s0", 1), cdf_pick("s2", 2)])
    document["CVR"] = document["CVR"] * 3 + [{**document["CVR"][0], "BallotStyleUnitId": "elsewhere"}]
    (tmp_path / "cvr.json").write_text(json.dumps(document))
    last = read_records(make_config(tmp_path, CDF))
    first = {key: document[key] for key in ("Election", "GpUnit", "CVR")}
    (tmp_path / "cvr.json").write_text(json.dumps(first))
    assert read_records(make_config(tmp_path, CDF)) == last
    assert [r.precinct for r in last] == ["Precinct One"] * 3 + ["elsewhere"]
    assert {r.ballot.marks for r in last} == {(("Alice", 1), ("Carol", 2))}
