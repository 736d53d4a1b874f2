"""The results site through the API and `tally report`: the same pages, rendered once per published
version with ETags; HEAD on every public file; GET / lists what is published; names that are markup
or formulas come out inert in HTML, CSV and XLSX; the spreadsheets hold results.json's figures."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from cli.main import main

from .conftest import assert_error, make_election
from .report_site import HOSTILE_NAMES, publish

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site(db, client, admin):
    return publish(db, client, admin, "report-1")


def test_the_api_serves_the_site_with_etags_and_head(client, site):
    index = client.get(f"/elections/{site.key}/report/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert "<html lang=\"en\">" in index.text and "City council" in index.text
    again = client.get(f"/elections/{site.key}/report/", headers={"If-None-Match": index.headers["etag"]})
    assert again.status_code == 304
    assert client.get(f"/elections/{site.key}/report", follow_redirects=False).status_code == 308
    for page in ("mayor.html", "mayor.csv", "results.xlsx", "area-north.html"):
        response = client.get(f"/elections/{site.key}/report/{page}")
        assert response.status_code == 200, page
    assert_error(client.get(f"/elections/{site.key}/report/nothing.html"), 404, "The report has no page 'nothing.html'")
    for name in ("results.json", "audit.json", "ballots.json"):
        got, head = client.get(f"/elections/{site.key}/public/{name}"), client.head(f"/elections/{site.key}/public/{name}")
        assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == got.headers["etag"]
        # the index lists each public file with the SHA-256 of the bytes served
        assert got.headers["etag"].strip('"') in index.text


def test_an_unpublished_election_has_no_site_and_is_not_listed(client, db, site):
    waiting = make_election(db, "report-unpublished")
    assert_error(client.get(f"/elections/{waiting.key}/report/"), 404, "Nothing is published for this election")
    listing = client.get("/")
    assert listing.status_code == 200
    assert f'href="/elections/{site.key}/report/"' in listing.text and waiting.key not in listing.text
    assert client.head("/").status_code == 200


def test_tally_report_writes_the_same_site_with_inert_names(client, site, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["report", site.key, "--out", str(out)]) == 0, capsys.readouterr().err
    results = json.loads((out / "public" / "results.json").read_text())
    served = client.get(f"/elections/{site.key}/public/results.json").json()
    assert results == served
    page = (out / "mayor.html").read_text()
    assert "<b>Baker</b>" not in page and "&lt;b&gt;Baker&lt;/b&gt; &amp; Co" in page
    assert client.get(f"/elections/{site.key}/report/mayor.html").text.replace("../public/", "public/") == page

    rows = list(csv.reader(io.StringIO((out / "mayor.csv").read_text())))
    names = [row[0] for row in rows if row]
    assert "'" + HOSTILE_NAMES["chen"] in names and HOSTILE_NAMES["chen"] not in names
    mayor = next(c for c in results["tallies"][0]["contests"] if c["contest"] == "mayor")["result"]
    shown = {HOSTILE_NAMES.get(c, c.title()): c for c in mayor["rounds"][0]["tallies"]}
    first = {row[0].removeprefix("'"): row[1] for row in rows if len(row) > 1 and row[0].removeprefix("'") in shown}
    assert first == {HOSTILE_NAMES.get(c, c.title()): str(v) for c, v in mayor["rounds"][0]["tallies"].items()}

    book = CalamineWorkbook.from_path(str(out / "results.xlsx"))
    overview = book.get_sheet_by_name("All contests").to_python()
    assert overview[0][:5] == ["Voting period", "Contest", "Method", "Seats", "Winners"]
    by_contest = {row[1]: row for row in overview[1:]}
    for entry in results["tallies"][0]["contests"]:
        result = entry["result"]
        row = by_contest[{"council": "City council", "mayor": "Mayor", "board": "Utility board"}.get(entry["contest"], entry["contest"])]
        assert row[5] == result["totals"]["total_votes"] and row[6] == result["totals"]["valid"]
    cells = [cell for sheet in book.sheet_names for row in book.get_sheet_by_name(sheet).to_python() for cell in row]
    assert HOSTILE_NAMES["chen"] in cells  # a string cell, with the quote prefix, and no formula anywhere
    with zipfile.ZipFile(out / "results.xlsx") as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert 'quotePrefix="1"' in archive.read("xl/styles.xml").decode()
    assert not any("<f>" in sheet for sheet in sheets)


def test_tally_results_writes_csv_and_xlsx(site, tmp_path, capsysbinary):
    assert main(["results", site.key, "--format", "csv"]) == 0
    lines = list(csv.reader(io.StringIO(capsysbinary.readouterr().out.decode())))
    assert lines[0][:5] == ["Voting period", "Contest", "Method", "Seats", "Winners"]
    assert [line[1] for line in lines[1:]] == ["City council", "Mayor", "Utility board"]
    assert main(["results", site.key, "--format", "csv", "--contest", "mayor"]) == 0
    assert b"Rounds,Round 1 Votes,% of vote,transfer" in capsysbinary.readouterr().out
    assert main(["results", site.key, "--format", "csv", "--contest", "nope"]) == 2
    assert b"no published contest 'nope'" in capsysbinary.readouterr().err
    assert main(["results", site.key, "--format", "xlsx"]) != 0
    assert b"give --out FILE" in capsysbinary.readouterr().err
    assert main(["results", site.key, "--format", "xlsx", "--out", str(tmp_path / "r.xlsx")]) == 0
    assert "Mayor" in CalamineWorkbook.from_path(str(tmp_path / "r.xlsx")).sheet_names
