"""An operator's first contacts with the real `tally` command: what `load` prints is what `run`
needs, a refused ballots file loads (and prints) nothing, an open period asks for `--force`,
`--wait` with no worker says so, and `tally demo` twice shows the existing sample."""

from __future__ import annotations

import re
import time

import pytest

from cli.main import main as tally
from models import entities as m
from models.db import session_scope
from services.read.results import published
from tests import factories as f
from tests.support import write_json

pytestmark = pytest.mark.integration


@pytest.fixture
def embedded(stack):
    """The stack's PostgreSQL database, Celery in-process (no broker)."""
    del stack.env["CELERY_BROKER_URL"]
    return stack


def test_load_prints_the_ids_run_needs(embedded, tmp_path):
    definition = f.election("ids-1", [f.contest("mayor", "plurality-at-large")])
    definition["voting_periods"].append({"name": "second", "ends_at": "2030-01-01T00:00:00Z"})
    out = embedded.tally("load", "--definition", str(write_json(tmp_path / "d.json", definition))).stdout
    with embedded.session() as session:
        election = session.query(m.Election).filter_by(key="ids-1").one()
        periods = {p.name: p.id for p in election.periods}
    assert f"(id {election.id})" in out
    for name, period_id in periods.items():
        assert f"period {name!r}: id {period_id} (tally run {election.id} {period_id})" in out, out


def test_refused_ballots_file_loads_and_prints_nothing(embedded, tmp_path):
    definition = f.election("refused-1", [f.contest("mayor", "plurality-at-large")])
    ballots = {"election": "refused-1", "period": "main",
               "ballots": [{"contest": "no-such-contest", "area": "a1", "marks": []}]}
    result = embedded.tally("load", "--definition", str(write_json(tmp_path / "d.json", definition)),
                            "--ballots", str(write_json(tmp_path / "b.json", ballots)), check=False)
    assert result.returncode == 2 and "no-such-contest" in result.stderr
    assert result.stdout == ""
    missing = embedded.tally("results", "refused-1", check=False)
    assert missing.returncode == 2  # the definition was rolled back with the ballots


def test_ballots_for_an_election_no_key_can_name_are_refused_in_one_line(embedded, tmp_path):
    # One lookup by key for every caller (services.elections.election_by_key): a key with a NUL is not
    # found, where the loader's own query once sent it to PostgreSQL and printed its DataError.
    ballots = {"election": "a\x00b", "period": "main", "ballots": []}
    result = embedded.tally("load", "--ballots", str(write_json(tmp_path / "b.json", ballots)), check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["error: ballots.election: unknown election 'a\\x00b'"]


def test_run_on_an_open_period_says_add_force(embedded):
    definition = f.election("open-1", [f.contest("mayor", "plurality-at-large")], ends_at="2099-01-01T00:00:00Z")
    election_id, period_id = f.load(embedded.database_url, definition, [])
    result = embedded.tally("run", str(election_id), str(period_id), check=False)
    assert result.returncode == 2
    assert "Voting period must be CLOSED to tally results" in result.stderr and "add --force" in result.stderr


@pytest.mark.slow
def test_wait_with_no_worker_says_so(stack):
    definition = f.election("idle-1", [f.contest("mayor", "plurality-at-large")])
    election_id, period_id = f.load(stack.database_url, definition, f.random_ballots(definition, 50, seed=1))
    started = time.monotonic()
    result = stack.tally("run", str(election_id), str(period_id), "--force", "--wait", "--timeout", "120", check=False)
    took = time.monotonic() - started
    assert result.returncode == 3, result
    assert "PENDING and no worker answers" in result.stderr and "celery -A worker.app worker" in result.stderr
    assert took < 30, took


@pytest.mark.slow
def test_demo_twice_shows_the_existing_sample(embedded):
    first = embedded.tally("demo", "--ballots", "200")
    assert "loaded election 'demo'" in first.stdout and "Winners:" in first.stdout
    assert "poorly aligned" not in first.stderr and "Warning" not in first.stderr  # no library's warnings
    again = embedded.tally("demo", "--ballots", "200")
    assert "the sample election 'demo' exists already" in again.stdout and "--fresh" in again.stdout
    assert "loaded election" not in again.stdout and "Winners:" in again.stdout
    fresh = embedded.tally("demo", "--ballots", "200", "--fresh")
    assert "loaded election 'demo-2'" in fresh.stdout
    with embedded.session() as session:
        assert sorted(e.key for e in session.query(m.Election)) == ["demo", "demo-2"]


def test_names_holding_control_characters_are_printed_escaped(embedded_db, capsys):
    """Issue 29: `tally results` printed a name holding ESC or CR/LF raw, so its colours worked and a
    newline forged a line of the table. Stored and published verbatim, a name is printed escaped."""
    evil = "Eve\x1b[31m red\r\nWinners: Mallory\u202e"
    definition = f.election("ctrl", [f.contest("mayor", "plurality-at-large", candidates=2)])
    definition["election"]["name"] = "City\x1b]0;owned\x07 vote"
    definition["contests"][0]["candidates"][0]["id"] = evil
    ballots = [{"contest": "mayor", "area": "a1", "marks": [[evil, 1]]}] * 3
    election_id, period_id = f.load(embedded_db, definition, ballots)
    assert tally(["run", str(election_id), str(period_id), "--force"]) == 0
    capsys.readouterr()
    assert tally(["results", "ctrl"]) == 0
    out = capsys.readouterr().out
    assert not {"\x1b", "\r", "\x07", "\u202e"} & set(out), out
    assert "Election ctrl: City\\x1b]0;owned\\x07 vote" in out
    assert "Winners: Eve\\x1b[31m red\\r\\nWinners: Mallory\\u202e" in out
    assert sum(line.startswith("Winners:") for line in out.splitlines()) == 1  # no line forged
    with session_scope(embedded_db) as session:
        result = published(session, election_id)["tallies"][0]["contests"][0]["result"]
    assert result["winners"] == [evil]  # kept verbatim


def test_periods_are_named_by_number_key_or_name_and_an_open_one_says_why_it_waits(embedded_db, capsys):
    """Issue 27: `run`, `status`, `seal`, `rollback` and `batch list` took only numbers, and
    `advance --dry-run` said nothing of a period still open."""
    definition = f.election("named", [f.contest("mayor", "plurality-at-large", candidates=2)],
                            ends_at="2999-01-01T00:00:00Z")
    election_id, period_id = f.load(embedded_db, definition, [{"contest": "mayor", "area": "a1", "marks": [["c1", 1]]}])
    capsys.readouterr()
    assert tally(["status", "named", "main"]) == 0
    by_name = capsys.readouterr().out
    assert tally(["status", str(election_id), str(period_id)]) == 0
    assert capsys.readouterr().out == by_name and '"state": "OPEN"' in by_name
    assert tally(["batch", "list", "named", "main"]) == 0 and '"batchId"' in capsys.readouterr().out
    assert tally(["status", "named", "later"]) == 2
    assert "election 'named' has no voting period 'later' (give its number or name)" in capsys.readouterr().err
    assert tally(["status", "nobody", "main"]) == 2
    assert "no election 'nobody'" in capsys.readouterr().err
    assert tally(["advance", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"waiting: election {election_id} period {period_id}: open until 2999-01-01T00:00:00+00:00" in out


def test_db_upgrade_says_what_it_did(tmp_path, monkeypatch, capsys):
    """Issue 27: on an empty database it said "up to date" after migrating it."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    assert tally(["db", "upgrade"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("database schema migrated from revision none (empty database) to "), first
    assert tally(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.startswith("database schema already up to date (revision ")


def _ballots(contest: str, area: str, marks: list[str], n: int, ranked: bool) -> list[dict]:
    return [{"contest": contest, "area": area, "marks": [[c, r + 1 if ranked else 1] for r, c in enumerate(marks)]}] * n


def test_results_of_an_area_show_who_leads_there_beside_the_contests_winners(embedded_db, capsys, monkeypatch):
    """Issue 27, item 4: `tally results E --area north` printed "Winners: council-c1, council-c3" for an
    area whose contest elected c1 and c2, and "candidate results not computed for this scope" for an
    instant-runoff area. An area elects nobody: it shows who leads there, the contest's winners apart,
    and the contest's rounds followed with its ballots."""
    monkeypatch.setenv("COLUMNS", "100")
    areas = [{"id": "root", "census": 100}, {"id": "north", "parent": "root", "census": 50},
             {"id": "south", "parent": "root", "census": 50}]
    two_seats = f.contest("council", "plurality-at-large", candidates=3, seats=2, max_votes=1)
    definition = f.election("area-view", [two_seats, f.contest("mayor", "instant-runoff", candidates=3)], areas=areas)
    c1, c2, c3 = "council-c1", "council-c2", "council-c3"
    m1, m2, m3 = "mayor-c1", "mayor-c2", "mayor-c3"
    ballots = (_ballots("council", "north", [c1], 5, False) + _ballots("council", "north", [c3], 4, False)
               + _ballots("council", "north", [c2], 1, False) + _ballots("council", "south", [c2], 6, False)
               + _ballots("council", "south", [c1], 3, False)
               # round 1: m1 7, m2 7, m3 5; m3's ballots go to m2 in the north, to m1 in the south: m2 wins 10-9
               + _ballots("mayor", "north", [m1], 5, True) + _ballots("mayor", "north", [m3, m2], 3, True)
               + _ballots("mayor", "north", [m2], 1, True) + _ballots("mayor", "south", [m2], 6, True)
               + _ballots("mayor", "south", [m1], 2, True) + _ballots("mayor", "south", [m3, m1], 2, True))
    election_id, period_id = f.load(embedded_db, definition, ballots)
    assert tally(["run", str(election_id), str(period_id), "--force"]) == 0
    with session_scope(embedded_db) as session:
        contests = {c["contest"]: c for c in published(session, election_id)["tallies"][0]["contests"]}
    assert contests["council"]["result"]["winners"] == [c1, c2] and contests["mayor"]["result"]["winners"] == [m2]
    capsys.readouterr()

    assert tally(["results", "area-view", "--area", "north"]) == 0
    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if line.startswith("Winners:")], out
    council = out.split("== council, area north ==")[1].split("\n== ")[0]
    assert f"Contest winners: {c1}, {c2}\n" in council and f"Leading here: {c1}, {c3}\n" in council
    mayor = out.split("== mayor, area north ==")[1].split("\n== ")[0]
    assert f"Contest winners: {m2}\n" in mayor
    assert f"Leading here: {m1} (in the contest's last round here)\n" in mayor
    assert "not computed" not in mayor and "Rounds here" in mayor
    followed = contests["mayor"]["areas"]["north"]["followed_rounds"]
    assert [r["tallies"] for r in followed] == [{m1: 5, m2: 1, m3: 3}, {m1: 5, m2: 4}]
    grid = mayor.split("Rounds here\n")[1]
    assert re.search(r"^Candidate\s+R1\s+R2$", grid, re.M)
    assert re.search(rf"^{m1}\s+5\s+5$", grid, re.M) and re.search(rf"^{m2}\s+1\s+4$", grid, re.M)
    assert re.search(rf"^{m3}\s+3\s+-$", grid, re.M)
    assert re.search(rf"^Eliminated \(the contest's\)\s+{m3}$", grid, re.M)
    assert re.search(rf"^Elected \(the contest's\)\s+{m2}$", grid, re.M)

    assert tally(["results", "area-view", "--area", "root"]) == 0  # root's subtree: the whole contest's ballots
    out = capsys.readouterr().out
    subtree = out.split("== mayor, area subtree root ==")[1].split("\n== ")[0]
    assert f"Contest winners: {m2}\n" in subtree and f"Leading here: {m2}\n" in subtree
    assert re.search(rf"^{m2}\s+7\s+10$", subtree.split("Rounds here\n")[1], re.M)
    assert not [line for line in out.splitlines() if line.startswith("Winners:")], out
