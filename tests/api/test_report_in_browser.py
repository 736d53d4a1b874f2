"""The results site and /docs as a person sees them: a real `tally api` process on loopback, opened in
Debian's headless Chromium (chromedriver, through selenium). Pages render with no console error;
the tables' figures equal results.json; every chart is there with the table it stands for; /docs
lists every operation of the OpenAPI document."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import httpx
import pytest

from report.figures import count_text
from tests.support import BIN

from .conftest import free_port
from .report_site import HOSTILE_NAMES, publish

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def api_url(db, client, admin, tmp_path_factory):
    """The published election, served by a `tally api` process of its own."""
    publish(db, client, admin, "report-browser")
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db, "TALLY_EXPORT_DIR": str(tmp_path_factory.mktemp("served"))}
    process = subprocess.Popen([str(BIN / "tally"), "api", "--host", "127.0.0.1", "--port", str(port),
                                "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise TimeoutError("tally api did not answer within 30 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    assert not missing, f"the page tests need Debian's chromium and chromium-driver (.ci/run installs them): {missing}"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser, url: str) -> None:
    browser.get(url)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def _table(browser, table_id: str) -> list[list[str]]:
    return browser.execute_script(
        "return [...document.getElementById(arguments[0]).tBodies[0].rows]"
        ".map(r => [...r.cells].map(c => c.textContent.trim()))", table_id)


def _results(api_url: str) -> dict:
    doc = httpx.get(api_url + "/elections/report-browser/public/results.json").json()
    return {c["contest"]: c["result"] for c in doc["tallies"][0]["contests"]}


def _name(candidate: str) -> str:
    return HOSTILE_NAMES.get(candidate, candidate.title())


def test_the_index_lists_every_contest_with_results_json_figures(browser, api_url):
    _open(browser, api_url + "/")
    browser.find_element("link text", "Sample city election").click()
    assert browser.current_url == api_url + "/elections/report-browser/report/"
    assert browser.execute_script("return document.documentElement.lang") == "en"
    results = _results(api_url)
    rows = {row[0]: row for row in _table(browser, "contests-table")}
    for contest, result in results.items():
        row = rows[{"council": "City council", "mayor": "Mayor", "board": "Utility board"}[contest]]
        assert row[4] == ", ".join(_name(w) for w in result["winners"])
        assert row[5:9] == [count_text(result["totals"]["total_votes"]), count_text(result["totals"]["valid"]),
                            count_text(result["totals"]["blank"]),
                            count_text(result["totals"]["invalid_explicit"] + result["totals"]["invalid_implicit"])]
    files = {row[0]: row for row in _table(browser, "files-table")}
    assert set(files) == {"ballots.json", "audit.json", "results.json"}


def test_a_ranked_contest_shows_its_rounds_charts_and_flow(browser, api_url):
    _open(browser, api_url + "/elections/report-browser/report/mayor.html")
    mayor = _results(api_url)["mayor"]
    rounds = mayor["rounds"]
    table = {row[0]: row[1:] for row in _table(browser, "mayor-rounds")}
    for candidate in mayor["rounds"][0]["tallies"]:
        cells = table[_name(candidate)]
        for n, rnd in enumerate(rounds):
            assert cells[3 * n] == (count_text(rnd["tallies"][candidate]) if candidate in rnd["tallies"] else "")
    assert [table["Inactive ballots"][3 * n] for n in range(len(rounds))] == [count_text(r["exhausted"]) for r in rounds]
    sentences = browser.execute_script("return [...document.querySelectorAll('ol.sentences li')].map(li => li.textContent)")
    assert len(sentences) == len(rounds) and sentences[-1].startswith(f"Round {len(rounds)}: ")
    assert _name(mayor["winners"][0]) + " is elected" in sentences[-1]
    charts = browser.execute_script(
        "return [...document.querySelectorAll('svg.chart')].map(s => [s.id, s.dataset.table,"
        " !!document.getElementById(s.dataset.table), s.getBoundingClientRect().height,"
        " s.querySelector('title').textContent])")
    ids = [c[0] for c in charts]
    assert {f"mayor-round-{r['round']}" for r in rounds} | {"mayor-flow", "mayor-totals"} <= set(ids)
    for chart_id, table_id, present, height, title in charts:
        assert present and height > 50 and title, (chart_id, table_id)
    assert "<b>" not in browser.page_source.replace("&lt;b&gt;", "")  # the markup name is text
    assert browser.find_element("css selector", "#mayor-candidates").text.count(HOSTILE_NAMES["baker"]) == 1


def test_meek_keep_factors_and_an_area_that_elects_nobody(browser, api_url):
    _open(browser, api_url + "/elections/report-browser/report/board.html")
    keep = _table(browser, "board-keep-factors")
    assert {row[0] for row in keep} == {"Kim", "Lopez", "Moreau", "Novak", "Okafor"}
    _open(browser, api_url + "/elections/report-browser/report/area-north.html")
    text = browser.find_element("tag name", "main").text
    assert "Contest winners:" in text and "Leading here" in text
    assert "Winner" not in text.replace("Contest winners", "")
    # the mayoral contest's rounds, followed with the north district's ballots, as results.json has them
    doc = httpx.get(api_url + "/elections/report-browser/public/results.json").json()
    mayor = next(c for c in doc["tallies"][0]["contests"] if c["contest"] == "mayor")
    followed = mayor["subtrees"]["north"]["followed_rounds"]
    table = {row[0]: row[1:] for row in _table(browser, "mayor-subtree-table-rounds")}
    for candidate, votes in followed[0]["tallies"].items():
        assert table[_name(candidate)][0] == count_text(votes)


def test_docs_render_every_operation(browser, api_url):
    _open(browser, api_url + "/docs")
    operations = {
        (method.upper(), path)
        for path, item in httpx.get(api_url + "/openapi.json").json()["paths"].items() for method in item
    }
    deadline = time.monotonic() + 20
    shown = []
    while time.monotonic() < deadline:
        shown = browser.execute_script(
            "return [...document.querySelectorAll('.opblock-summary')].map(o => ["
            "o.querySelector('.opblock-summary-method').textContent,"
            "o.querySelector('.opblock-summary-path').dataset.path])")
        if shown:
            break
        time.sleep(0.2)
    assert "Unable to render" not in browser.page_source
    assert {(m, p) for m, p in shown} == operations
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
