"""Hostile and odd CVR exports, one file each: every one is refused with a single `error:` line that
names the file (and the record or row where there is one) and the cause, exit 2, in bounded memory
and time, and nothing is loaded. Devices, FIFOs and symlinks out of the source folder are never read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

import models as m
from cli.main import main
from models.db import session_scope
from tests.cvr.makers import (
    CDF,
    ESS,
    dominion_session,
    make_config,
    run_count,
    write_dominion,
    write_hart,
    write_xlsx,
)

DOMINION = {"provider": "dominion", "filePath": "export", "contestId": "1"}
HART = {"provider": "hart", "filePath": "archive", "contestId": "g-board"}
CSV = {"provider": "genericCsv", "filePath": "cvr.csv", "firstVoteColumnIndex": "2"}


def refused(capsys, config: Path, *options: str) -> str:
    """The one error line of `tally count --rctab-config`, which must exit 2."""
    code, _, err = run_count(capsys, config, *options)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_a_source_outside_the_configuration_folder_is_refused_unless_allowed(tmp_path, capsys):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "cvr.csv").write_text("id,Alice,Bob\nr1,1,2\n")
    (tmp_path / "config").mkdir()
    config = make_config(tmp_path / "config", {**CSV, "filePath": "../elsewhere/cvr.csv"})
    assert "'../elsewhere/cvr.csv' leaves the configuration's folder" in refused(capsys, config)
    code, result, err = run_count(capsys, config, "--allow-outside-paths")
    assert code == 0, err
    assert result["totals"]["valid"] == 1


@pytest.mark.parametrize("provider", [CSV, {**HART, "filePath": "/dev/zero"}])
def test_a_device_is_never_read(tmp_path, capsys, provider):
    config = make_config(tmp_path, {**provider, "filePath": "/dev/zero"})
    assert "leaves the configuration's folder" in refused(capsys, config)
    line = refused(capsys, config, "--allow-outside-paths")
    assert line == "error: /dev/zero: is not a regular file (devices, FIFOs and sockets are never read)"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path, capsys):
    os.mkfifo(tmp_path / "cvr.csv")
    line = refused(capsys, make_config(tmp_path, CSV))
    assert line.endswith("cvr.csv: is not a regular file (devices, FIFOs and sockets are never read)")


def test_a_symlink_in_an_export_folder_is_not_followed_out_of_it(tmp_path, capsys):
    write_dominion(tmp_path / "export", [dominion_session([(1, 1)])])
    (tmp_path / "export" / "CvrExport_1.json").unlink()
    (tmp_path / "export" / "CvrExport_1.json").symlink_to("/dev/zero")
    line = refused(capsys, make_config(tmp_path, DOMINION))
    assert "CvrExport_1.json: leaves the source folder" in line
    write_hart(tmp_path / "archive", "1.xml", [("Alice", "g-a", "1")])
    (tmp_path / "secret.xml").write_text("<Cvr/>")
    (tmp_path / "archive" / "2.xml").symlink_to(tmp_path / "secret.xml")
    assert "2.xml: leaves the source folder" in refused(capsys, make_config(tmp_path, HART))


def test_a_symlink_inside_the_folder_is_read(tmp_path, capsys):
    write_hart(tmp_path / "archive", "1.xml", [("Alice", "g-a", "1")])
    (tmp_path / "archive" / "1.xml").rename(tmp_path / "archive" / "real.data")
    (tmp_path / "archive" / "1.xml").symlink_to(tmp_path / "archive" / "real.data")
    code, result, err = run_count(capsys, make_config(tmp_path, HART))
    assert code == 0, err
    assert result["totals"]["valid"] == 1


def _peak_rss_mb(config: Path) -> tuple[int, str, float]:
    """Exit status, standard error and peak RSS of `tally count` run in a process of its own. The peak is
    VmHWM, the new program's own: getrusage's maxrss keeps the parent's size from before the exec."""
    script = (
        "import re, sys\nfrom cli.main import main\ncode = main(sys.argv[1:])\n"
        "peak = re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read())[1]\n"
        "print(int(peak) / 1024, file=sys.stderr)\nsys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", script, "count", "--rctab-config", str(config)],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[2])
    *lines, peak = done.stderr.strip().splitlines()
    return done.returncode, "\n".join(lines), float(peak)


def test_a_zip_member_that_inflates_past_the_limit_is_refused_in_small_memory(tmp_path):
    with zipfile.ZipFile(tmp_path / "cvrs.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("big.xml", "w") as member:
            for _ in range(400):
                member.write(b" " * (1 << 20))
    assert (tmp_path / "cvrs.zip").stat().st_size < 1 << 20
    code, err, peak = _peak_rss_mb(make_config(tmp_path, {**HART, "filePath": "cvrs.zip"}))
    assert code == 2
    assert err == (f"error: {tmp_path / 'cvrs.zip'}!big.xml: inflates to 419,430,400 bytes, more than 67,108,864 "
                   "(TALLY_CVR_RECORD_BYTES): not read")
    assert peak < 200


def test_a_json_export_nested_200_000_deep_is_refused_in_small_memory(tmp_path):
    write_dominion(tmp_path / "export", [])
    (tmp_path / "export" / "CvrExport_1.json").write_text('{"Sessions": [' + "[" * 200_000)
    code, err, peak = _peak_rss_mb(make_config(tmp_path, DOMINION))
    assert code == 2
    assert err == f"error: {tmp_path / 'export' / 'CvrExport_1.json'}: session 1: invalid JSON: nested too deeply to read"
    assert peak < 200


def test_a_record_that_does_not_end_within_the_limit_is_refused(tmp_path, capsys, monkeypatch):
    from cvr.files import limits

    monkeypatch.setenv("TALLY_CVR_RECORD_BYTES", "1000")
    limits.cache_clear()
    try:
        (tmp_path / "cvr.json").write_text('{"CVR": [{"x": "' + "y" * 5000 + '"}]}')
        line = refused(capsys, make_config(tmp_path, CDF))
    finally:
        limits.cache_clear()
    assert line == f"error: {tmp_path / 'cvr.json'}: CVR 1: is larger than 1,000 bytes (TALLY_CVR_RECORD_BYTES)"


@pytest.mark.parametrize("name, manifest, expected", [
    ("CandidateManifest.json", "[" * 100_000, "invalid JSON: nested too deeply to read"),
    ("CandidateManifest.json", json.dumps({"List": ["x"]}), "List entry 1: must be an object"),
    ("PrecinctPortionManifest.json", json.dumps({"List": [{"PrecinctId": 9}]}), "List entry 1: Id: is missing"),
    ("CandidateManifest.json", json.dumps({"Version": "5"}), "List: not a Dominion manifest: no `List` of entries"),
])
def test_a_malformed_dominion_manifest_is_refused(tmp_path, capsys, name, manifest, expected):
    write_dominion(tmp_path / "export", [dominion_session([(1, 1)])])
    (tmp_path / "export" / name).write_text(manifest)
    assert refused(capsys, make_config(tmp_path, DOMINION)) == f"error: {tmp_path / 'export' / name}: {expected}"


@pytest.mark.parametrize("session, expected", [
    ({"Original": {"Cards": ["x"]}}, "session 1: Cards.Contests: must be a list of contests"),
    ({"Original": {"Cards": {"Contests": []}}}, "session 1: Cards: must be a list"),
    ({"Original": ["x"]}, "session 1: Original: must be an object"),
    ("x", "session 1: must be an object"),
])
def test_a_malformed_dominion_session_is_refused(tmp_path, capsys, session, expected):
    write_dominion(tmp_path / "export", [session])
    export = tmp_path / "export" / "CvrExport_1.json"
    assert refused(capsys, make_config(tmp_path, DOMINION)) == f"error: {export}: {expected}"


def test_an_xlsx_named_otherwise_is_read_and_a_text_file_named_xlsx_is_refused(tmp_path, capsys):
    write_xlsx(tmp_path / "cvr.dat", [["id", "p", "1"], [1, "P", "Alice"]])
    code, result, err = run_count(capsys, make_config(tmp_path, {**ESS, "filePath": "cvr.dat"}))
    assert code == 0, err
    assert result["totals"]["valid"] == 1
    (tmp_path / "cvr.xlsx").write_text("id,p,1\n1,P,Alice\n")
    line = refused(capsys, make_config(tmp_path, ESS))
    assert line.startswith(f"error: {tmp_path / 'cvr.xlsx'}: not a readable .xlsx workbook")


def test_an_xlsx_whose_parts_would_inflate_past_the_limit_is_refused(tmp_path, capsys, monkeypatch):
    from cvr.files import limits

    write_xlsx(tmp_path / "cvr.xlsx", [["id", "p", "1"]] + [[i, "P", "Alice"] for i in range(2000)])
    monkeypatch.setenv("TALLY_CVR_MEMBER_BYTES", "10000")
    limits.cache_clear()
    try:
        line = refused(capsys, make_config(tmp_path, ESS))
    finally:
        limits.cache_clear()
    assert line.startswith(f"error: {tmp_path / 'cvr.xlsx'}!xl/")
    assert line.endswith("more than 10,000 (TALLY_CVR_MEMBER_BYTES): not read")


def test_csv_fields_up_to_the_limit_are_read_and_a_longer_one_names_its_row(tmp_path, capsys):
    long_id = "x" * (200 << 10)  # past the csv module's own default of 128 KiB
    (tmp_path / "cvr.csv").write_text(f"id,Alice,Bob\n{long_id},1,2\n")
    code, result, err = run_count(capsys, make_config(tmp_path, CSV))
    assert code == 0, err
    assert result["totals"]["valid"] == 1
    (tmp_path / "cvr.csv").write_text(f"id,Alice,Bob\nr1,1,2\n{'x' * (2 << 20)},1,2\n")
    line = refused(capsys, make_config(tmp_path, CSV))
    assert line == (f"error: {tmp_path / 'cvr.csv'}: row 3: a field is longer than 1,048,576 characters "
                    "(TALLY_CVR_CSV_FIELD_BYTES)")


@pytest.mark.parametrize("encoding, line_number, byte", [("latin-1", 3, "0xe9"), ("utf-16", 1, "0xff")])
def test_a_csv_not_in_utf8_names_its_line(tmp_path, capsys, encoding, line_number, byte):
    (tmp_path / "cvr.csv").write_bytes("id,Alice,Bob\nr1,1,2\nJosé,2,1\n".encode(encoding))
    line = refused(capsys, make_config(tmp_path, CSV))
    assert line == f"error: {tmp_path / 'cvr.csv'}: line {line_number}: is not UTF-8 text (byte {byte}): save it as UTF-8"


def test_xml_entities_are_not_expanded(tmp_path, capsys):
    """A ballot document that defines an entity reading a local file: the entity is not expanded."""
    (tmp_path / "secret.txt").write_text("Alice")
    write_hart(tmp_path / "archive", "1.xml", [("Alice", "g-a", "1")])
    document = (tmp_path / "archive" / "1.xml").read_text()
    document = document.replace('<?xml version="1.0" encoding="utf-8"?>',
                                f'<?xml version="1.0"?><!DOCTYPE Cvr [<!ENTITY x SYSTEM "file://{tmp_path}/secret.txt">]>')
    (tmp_path / "archive" / "1.xml").write_text(document.replace("<Name>Alice</Name>", "<Name>&x;</Name>", 1))
    code, result, err = run_count(capsys, make_config(tmp_path, {**HART, "contestId": "Board"}))
    assert code == 0, err
    assert result["totals"]["invalid_reasons"] == {"unknown-candidate": 1}  # the name read is not "Alice"


def test_a_hostile_export_loads_nothing(tmp_path, capsys, embedded_db):
    write_dominion(tmp_path / "export", [dominion_session([(1, 1)])])
    (tmp_path / "export" / "CvrExport_2.json").write_text('{"Sessions": [' + "[" * 5000)
    code = main(["load", "--rctab-config", str(make_config(tmp_path, DOMINION)), "--election", "hostile"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'export' / 'CvrExport_2.json'}: session 1: invalid JSON: nested too deeply to read"
    with session_scope(embedded_db) as session:
        assert session.scalar(select(func.count()).select_from(m.Ballot)) == 0
        assert session.scalar(select(func.count()).select_from(m.Election)) == 0
