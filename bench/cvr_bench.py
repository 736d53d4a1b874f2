"""Reading and loading large cast vote records: a generated ES&S .xlsx, a NIST CDF JSON file and a Dominion
export of N records each, read in bounded memory and loaded through the pipeline's loader.

    .venv/bin/python bench/cvr_bench.py [--records 1000000] [--skip-load] [--formats ess cdf_json dominion]
    .venv/bin/python bench/cvr_bench.py --whole 20 --records 200000     # whole exports: 20 contests a ballot

For each format the file is generated once (ten candidates, rankings of 1 to 5, some undervotes
and overvotes), with an RCTab configuration beside it. Then, each in a fresh child process so that
its peak RSS is its own: `floor` is the library alone on the file (calamine iterating the sheet's
rows; the JSON scanner parsing each record, `cvr/json_members.py`), `read` streams every record
through the reader into the engine's ballots (records/s, peak RSS, and its ratio to the floor
measured in the same run); `load` runs `tally load --rctab-config` into a scratch PostgreSQL
database (records/s, peak RSS). Each figure is printed beside its target (issue 26). A JSON reader's
peak RSS stays flat in N (compare `--records 100000`); ES&S holds one sheet (at most 1,048,576 rows).
Last line: JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CANDIDATES = [f"Candidate {i}" for i in range(10)]
STRENGTHS = (30, 22, 15, 10, 8, 6, 4, 2.5, 1.5, 1)
RANKS = 5


def ballots(n: int, seed: int):
    """Rankings as cells per rank: a name, "undervote" (a skipped rank) or "overvote"."""
    rng = random.Random(seed)
    for _ in range(n):
        arrival = sorted((rng.expovariate(s), c) for c, s in zip(CANDIDATES, STRENGTHS, strict=True))
        length = rng.choice((1, 2, 3, 4, 5, 5))
        cells = [c for _, c in arrival[:length]] + ["undervote"] * (RANKS - length)
        if rng.random() < 0.02:
            cells[rng.randrange(RANKS)] = "overvote"
        yield cells


def write_ess(path: Path, n: int, seed: int) -> None:
    """The sheet as Excel (and ES&S) write it: text cells are indexes into the shared strings table.
    (openpyxl's write-only mode writes inline strings, which no voting system exports and which
    openpyxl reads several times slower.) Streamed into the zip: the generator holds one row."""
    import zipfile
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}

    def text(value: str) -> str:
        index = strings.setdefault(value, len(strings))
        return f'<c t="s"><v>{index}</v></c>'

    header = ["Cast Vote Record", "Precinct"] + [f"Choice {r}" for r in range(1, RANKS + 1)]
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>'.encode())
            sheet.write(("<row>" + "".join(text(h) for h in header) + "</row>").encode())
            for i, cells in enumerate(ballots(n, seed), start=1):
                row = f'<row><c><v>{i}</v></c>{text(f"Precinct {i % 50}")}' + "".join(text(c) for c in cells) + "</row>"
                sheet.write(row.encode())
            sheet.write(b"</sheetData></worksheet>")
        shared = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        book.writestr("xl/sharedStrings.xml", f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{main}" '
                      f'count="{len(strings)}" uniqueCount="{len(strings)}">{shared}</sst>')
        book.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" '
                      f'xmlns:r="{rels}"><sheets><sheet name="Marked Sheet" sheetId="1" r:id="rId1"/></sheets></workbook>')
        package = "http://schemas.openxmlformats.org/package/2006/relationships"
        book.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}">'
                      f'<Relationship Id="rId1" Type="{rels}/worksheet" Target="worksheets/sheet1.xml"/>'
                      f'<Relationship Id="rId2" Type="{rels}/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        book.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{package}">'
                      f'<Relationship Id="rId1" Type="{rels}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        types = "http://schemas.openxmlformats.org/package/2006/content-types"
        ml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        book.writestr("[Content_Types].xml", f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{types}">'
                      '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                      '<Default Extension="xml" ContentType="application/xml"/>'
                      f'<Override PartName="/xl/workbook.xml" ContentType="{ml}.sheet.main+xml"/>'
                      f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ml}.worksheet+xml"/>'
                      f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ml}.sharedStrings+xml"/></Types>')


def write_cdf(path: Path, n: int, seed: int, contests: int = 1) -> None:
    """A CDF JSON file of n records, each holding `contests` ranked contests, the definitions after them."""
    names = ["Mayor"] + [f"Contest {k}" for k in range(2, contests + 1)]
    streams = [ballots(n, seed + k) for k in range(contests)]
    with open(path, "w") as out:
        out.write('{"@type": "CVR.CastVoteRecordReport", "CVR": [\n')
        for i in range(1, n + 1):
            held = [{"ContestId": f"contest-{k + 1}", "CVRContestSelection": _cdf_picks(next(stream), k + 1)}
                    for k, stream in enumerate(streams)]
            record = {"@type": "CVR.CVR", "BallotStyleUnitId": f"p{i % 50}", "CurrentSnapshotId": f"s{i}",
                      "CVRSnapshot": [{"@id": f"s{i}", "Type": "original", "CVRContest": held}]}
            out.write(("," if i > 1 else "") + json.dumps(record, separators=(",", ":")) + "\n")
        election = {"@id": "e1", "Candidate": [{"@id": f"c-{i}", "Name": c} for i, c in enumerate(CANDIDATES)],
                    "Contest": [{"@id": f"contest-{k}", "Name": names[k - 1], "VoteVariation": "rcv",
                                 "ContestSelection": [{"@id": f"cs-{k}-{i}", "CandidateIds": [f"c-{i}"]}
                                                      for i in range(len(CANDIDATES))]} for k in range(1, contests + 1)]}
        units = [{"@id": f"p{i}", "Name": f"Precinct {i}"} for i in range(50)]
        out.write(f'], "Election": [{json.dumps(election)}], "GpUnit": {json.dumps(units)}}}\n')


def _cdf_picks(cells: list[str], contest: int) -> list[dict]:
    picks = []
    for rank, cell in enumerate(cells, start=1):
        names = [cell] if cell in CANDIDATES else (CANDIDATES[:2] if cell == "overvote" else [])
        picks += [{"ContestSelectionId": f"cs-{contest}-{CANDIDATES.index(c)}", "SelectionPosition": [
            {"HasIndication": "yes", "NumberVotes": 1, "Rank": rank}]} for c in names]
    return picks


def write_dominion(folder: Path, n: int, seed: int, contests: int = 1) -> None:
    """A Dominion export folder: manifests, and one CvrExport.json of n sessions as the tabulators write
    them, each holding `contests` ranked contests (candidate ids 100 * contest + i)."""
    folder.mkdir()

    def manifest(name: str, items: list[dict]) -> None:
        (folder / name).write_text(json.dumps({"Version": "5.10.11.24", "List": items}))

    manifest("CandidateManifest.json", [{"Description": c, "Id": 100 * k + i, "ContestId": k}
                                        for k in range(1, contests + 1) for i, c in enumerate(CANDIDATES)])
    manifest("ContestManifest.json", [{"Description": "Mayor" if k == 1 else f"Contest {k}", "Id": k, "VoteFor": 1,
                                       "NumOfRanks": RANKS} for k in range(1, contests + 1)])
    manifest("PrecinctManifest.json", [{"Description": f"Precinct {p}", "Id": p} for p in range(50)])
    manifest("PrecinctPortionManifest.json", [{"Description": f"Portion {p}", "Id": 100 + p, "PrecinctId": p}
                                              for p in range(50)])
    streams = [ballots(n, seed + k) for k in range(contests)]
    with open(folder / "CvrExport.json", "w") as out:
        out.write('{"Version":"5.10.11.24","ElectionId":"Bench","Sessions":[')
        for i in range(1, n + 1):
            cards = [{"Id": 1, "ManifestationId": k + 1, "Undervotes": 0, "Overvotes": 0, "OutstackConditionIds": [],
                      "Marks": _dominion_marks(next(stream), 100 * (k + 1))} for k, stream in enumerate(streams)]
            session = {"TabulatorId": 42, "BatchId": i // 200, "RecordId": i, "CountingGroupId": 1,
                       "SessionType": "ScannedVote", "Original": {
                           "PrecinctPortionId": 100 + i % 50, "BallotTypeId": 1, "IsCurrent": True, "Cards": [
                               {"Id": 1, "KeyInId": 1, "PaperIndex": 0, "Contests": cards, "OutstackConditionIds": []}]}}
            out.write(("," if i > 1 else "") + json.dumps(session, separators=(",", ":")))
        out.write("]}")


def _dominion_marks(cells: list[str], base: int) -> list[dict]:
    marks = []
    for rank, cell in enumerate(cells, start=1):
        names = [cell] if cell in CANDIDATES else (CANDIDATES[:2] if cell == "overvote" else [])
        marks += [{"CandidateId": base + CANDIDATES.index(c), "ManifestationId": 1, "PartyId": 0, "Rank": rank,
                   "MarkDensity": 100, "IsAmbiguous": False, "IsVote": True, "OutstackConditionIds": []} for c in names]
    return marks


def write_config(folder: Path, name: str, source: dict) -> Path:
    config = {
        "outputSettings": {"contestName": f"Bench {name}"},
        "cvrFileSources": [source],
        "candidates": [{"name": c, "aliases": []} for c in CANDIDATES],
        "rules": {"tiebreakMode": "useCandidateOrder", "overvoteRule": "exhaustImmediately",
                  "winnerElectionMode": "singleWinnerMajority", "numberOfWinners": "1",
                  "maxSkippedRanksAllowed": "1", "maxRankingsAllowed": str(RANKS), "batchElimination": True,
                  "exhaustOnDuplicateCandidate": False},
    }
    path = folder / f"{name}_config.json"
    path.write_text(json.dumps(config))
    return path


# ---------------------------------------------------------------------------------------------
# The measured steps, each run in a child process of its own


def child_read(config: str) -> dict:
    from cvr.providers import read_all
    from cvr.rctab_config import read_config

    plan = read_config(config)
    started = time.perf_counter()
    records = sum(1 for _ in read_all(plan.sources, plan.names))
    return {"records": records, "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_mb()}


def child_floor(config: str) -> dict:
    from cvr.rctab_config import read_config

    source = read_config(config).sources[0]
    started = time.perf_counter()
    if source.provider == "ess":
        from python_calamine import CalamineWorkbook

        records = sum(1 for _ in CalamineWorkbook.from_path(str(source.path)).get_sheet_by_index(0).iter_rows()) - 1
    else:
        from cvr.json_members import members

        path = source.path / "CvrExport.json" if source.provider == "dominion" else source.path
        with open(path, "rb") as handle:
            records = sum(1 for _, number, _ in members(handle, str(path), {"CVR": "CVR", "Sessions": "session"})
                          if number)
    return {"records": records, "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_mb()}


def child_whole_read(provider: str, path: str) -> dict:
    from cvr.export import Export, read_export
    from cvr.rctab_config import source_of

    started = time.perf_counter()
    records = sum(1 for _ in read_export(source_of(provider, path, {}), Export()))
    return {"records": records, "seconds": time.perf_counter() - started, "peak_rss_mb": _peak_mb()}


def child_whole_load(provider: str, path: str, url: str) -> dict:
    from models.db import session_scope
    from services.loading.export import load_export

    started = time.perf_counter()
    with session_scope(url) as session:
        report = load_export(session, path, provider, "bench")
    return {"records": report.loaded, "seconds": time.perf_counter() - started, "contests": len(report.contests),
            "peak_rss_mb": _peak_mb()}


def whole_exports(args) -> None:
    """`--whole K`: a Dominion export and a CDF file of N ballots holding K contests each, read and loaded whole."""
    from tests.support import postgres_database

    figures: dict = {"ballots": args.records, "contests": args.whole}
    with tempfile.TemporaryDirectory() as scratch:
        for name, provider, write, filename in (("dominion", "dominion", write_dominion, "dominion"),
                                                ("cdf_json", "cdf", write_cdf, "cvr.json")):
            path = Path(scratch) / filename
            started = time.perf_counter()
            write(path, args.records, args.seed, args.whole)
            entry = {"generate_seconds": round(time.perf_counter() - started, 1),
                     "read": measured("whole_read", provider, str(path))}
            if not args.skip_load:
                with postgres_database() as url:
                    entry["load"] = measured("whole_load", provider, str(path), url)
            figures[name] = entry
            print(name, json.dumps(entry), flush=True)
            for step in ("read", "load"):
                if step in entry:
                    rate = entry[step]["records_per_second"]
                    target = "target >= 50000  " + ("met" if rate >= 50_000 else "NOT met") if step == "load" else ""
                    print(f"  {name:9} whole export {step}, contest records/s {rate:>10}  {target}", flush=True)
    print(json.dumps(figures, sort_keys=True))


def child_load(config: str, url: str) -> dict:
    from models.db import session_scope
    from services.loading.cvr import load_rctab

    started = time.perf_counter()
    with session_scope(url) as session:
        report = load_rctab(session, config, "bench")
    return {"records": report.loaded, "seconds": time.perf_counter() - started, "areas": len(report.areas),
            "peak_rss_mb": _peak_mb()}


def _peak_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measured(*argv: str) -> dict:
    """Run one step in a child process of its own (so its peak RSS is its own)."""
    done = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{argv[0]} failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["records_per_second"] = round(figures["records"] / figures["seconds"])
    figures["seconds"] = round(figures["seconds"], 2)
    return figures


def _against_targets(name: str, entry: dict) -> None:
    rows = [("read, records/s", entry["read"]["records_per_second"], ">= 100000", entry["read"]["records_per_second"] >= 100_000),
            ("read / library floor", entry["read_over_floor"], "<= 2.0", entry["read_over_floor"] <= 2.0),
            ("read, peak RSS MB", entry["read"]["peak_rss_mb"], "flat in N", None)]
    if "load" in entry:
        rows.append(("load end to end, records/s", entry["load"]["records_per_second"], ">= 50000",
                     entry["load"]["records_per_second"] >= 50_000))
    for what, figure, target, met in rows:
        verdict = "" if met is None else ("met" if met else "NOT met")
        print(f"  {name:9} {what:28} {figure:>10}  target {target:10} {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-load", action="store_true", help="only generate and read")
    parser.add_argument("--formats", nargs="+", choices=("ess", "cdf_json", "dominion"),
                        default=("ess", "cdf_json", "dominion"))
    parser.add_argument("--whole", type=int, metavar="K", help="whole exports of K contests a ballot (Dominion, CDF)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        step, *rest = args.child
        steps = {"read": child_read, "floor": child_floor, "load": child_load, "whole_read": child_whole_read,
                 "whole_load": child_whole_load}
        print(json.dumps(steps[step](*rest)))
        return
    if args.whole:
        whole_exports(args)
        return
    from tests.support import postgres_database

    figures: dict = {"records": args.records}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        formats = {
            "ess": (write_ess, "cvr.xlsx", {"provider": "ess", "filePath": "cvr.xlsx", "firstVoteColumnIndex": "3",
                                            "firstVoteRowIndex": "2", "precinctColumnIndex": "2",
                                            "overvoteLabel": "overvote", "skippedRankLabel": "undervote"}),
            "cdf_json": (write_cdf, "cvr.json", {"provider": "cdf", "filePath": "cvr.json", "contestId": "Mayor"}),
            "dominion": (write_dominion, "dominion", {"provider": "dominion", "filePath": "dominion", "contestId": "1"}),
        }
        for name, (write, filename, source) in formats.items():
            if name not in args.formats:
                continue
            started = time.perf_counter()
            write(folder / filename, args.records, args.seed)
            config = write_config(folder, name, source)
            size = sum(p.stat().st_size for p in (folder / filename).rglob("*")) if (folder / filename).is_dir() else \
                (folder / filename).stat().st_size
            entry = {"file_mb": round(size / 2**20, 1),
                     "generate_seconds": round(time.perf_counter() - started, 1)}
            entry["floor"] = measured("floor", str(config))
            entry["read"] = measured("read", str(config))
            entry["read_over_floor"] = round(entry["read"]["seconds"] / entry["floor"]["seconds"], 2)
            if not args.skip_load:
                with postgres_database() as url:
                    entry["load"] = measured("load", str(config), url)
            figures[name] = entry
            print(name, json.dumps(entry), flush=True)
            _against_targets(name, entry)
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
