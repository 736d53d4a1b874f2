"""Small CVR files of each provider, made in a test's folder, and the ways the tests read them."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl

from cli.main import main
from cvr.providers import read_all
from cvr.rctab_config import plan_of

NAMES = ["Alice", "Bob", "Carol"]

RULES = {"tiebreakMode": "useCandidateOrder", "overvoteRule": "alwaysSkipToNextRank", "maxRankingsAllowed": "3",
         "maxSkippedRanksAllowed": "unlimited", "winnerElectionMode": "singleWinnerMajority"}

ESS = {"provider": "ess", "filePath": "cvr.xlsx", "firstVoteColumnIndex": "3", "firstVoteRowIndex": "2",
       "precinctColumnIndex": "2", "overvoteDelimiter": "|", "overvoteLabel": "overvote",
       "skippedRankLabel": "undervote", "undeclaredWriteInLabel": "UWI"}

CDF = {"provider": "cdf", "filePath": "cvr.json", "contestId": "Mayor", "undeclaredWriteInLabel": "UWI"}


def make_config(folder: Path, source: dict, candidates=None, **rules) -> Path:
    doc = {"outputSettings": {"contestName": "Test"}, "cvrFileSources": [source],
           "candidates": candidates or [{"name": n} for n in NAMES], "rules": {**RULES, **rules}}
    path = folder / "test_config.json"
    path.write_text(json.dumps(doc))
    return path


def read_records(config: Path):
    plan = plan_of(json.loads(config.read_text()), config)
    return list(read_all(plan.sources, plan.names))


def run_count(capsys, config: Path, *options: str) -> tuple[int, dict | None, str]:
    code = main(["count", "--rctab-config", str(config), *options])
    out = capsys.readouterr()
    return code, json.loads(out.out) if code == 0 else None, out.err


def write_xlsx(path: Path, rows: list[list]) -> None:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)


def cdf_document(selections: list[dict], contest_name="Mayor") -> dict:
    return {
        "CVR": [{"CurrentSnapshotId": "s1", "BallotStyleUnitId": "p1", "CVRSnapshot": [
            {"@id": "s1", "CVRContest": [{"ContestId": "k1", "CVRContestSelection": selections}]}]}],
        "Election": [{"Candidate": [{"@id": f"c{i}", "Name": n} for i, n in enumerate(NAMES)] + [{"@id": "w"}],
                      "Contest": [{"@id": "k1", "Name": contest_name, "ContestSelection": [
                          {"@id": f"s{i}", "CandidateIds": [f"c{i}"]} for i in range(3)] + [
                          {"@id": "sw", "CandidateIds": ["w"], "IsWriteIn": True}]}]}],
        "GpUnit": [{"@id": "p1", "Name": "Precinct One"}],
    }


def cdf_pick(selection: str, rank, indicated="yes") -> dict:
    return {"ContestSelectionId": selection, "SelectionPosition": [{"HasIndication": indicated, "Rank": rank}]}


def write_dominion(folder: Path, sessions: list[dict], precincts: bool = True) -> None:
    folder.mkdir()
    manifest = lambda items: json.dumps({"Version": "5", "List": items})  # noqa: E731
    (folder / "CandidateManifest.json").write_text(manifest(
        [{"Description": n, "Id": i + 1, "ContestId": 1} for i, n in enumerate(NAMES)]))
    (folder / "PrecinctPortionManifest.json").write_text(manifest([{"Description": "Portion", "Id": 5, "PrecinctId": 9}]))
    if precincts:
        (folder / "PrecinctManifest.json").write_text(manifest([{"Description": "Precinct 9", "Id": 9}]))
    (folder / "CvrExport_1.json").write_text(json.dumps({"Version": "5", "Sessions": sessions}))


def dominion_session(marks: list[tuple[int, int]], modified: list[tuple[int, int]] | None = None) -> dict:
    def card(ms):
        return {"PrecinctPortionId": 5, "Cards": [{"Contests": [{"Id": 1, "Marks": [
            {"CandidateId": c, "Rank": r, "IsAmbiguous": False} for c, r in ms]}]}]}

    out = {"Original": card(marks)}
    if modified is not None:
        out["Modified"] = card(modified)
    return out


def write_hart(folder: Path, name: str, options: list[tuple[str, str, str]]) -> None:
    folder.mkdir(exist_ok=True)
    opts = "".join(f"<Option><Name>{n}</Name><Id>{i}</Id><Value>{v}</Value></Option>" for n, i, v in options)
    (folder / name).write_text(
        '<?xml version="1.0" encoding="utf-8"?><Cvr xmlns="http://tempuri.org/CVRDesign.xsd"><Contests>'
        f"<Contest><Name>Board</Name><Id>g-board</Id><Options>{opts}</Options></Contest></Contests>"
        "<PrecinctSplit><Name>PRC1</Name><Id>x</Id></PrecinctSplit></Cvr>")
