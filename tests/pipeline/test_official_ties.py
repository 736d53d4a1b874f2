"""A tie an official decides, through the pipeline (in-process, on real PostgreSQL): RCTab's interactive tie case
(`stopCountingAndAsk`) loaded -> `tally run` leaves the run WAITING, naming the tie -> `tally tie decide` records
the decision as an audit event -> the tally completes with it -> `tally verify` replays it from audit.json, and
refuses the count when the audit lacks it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cli.main import main
from models import entities as m
from models.db import session_scope
from services.verify import verify
from tests.support import rechain_audit, wait_for

from ..cvr.corpus import ABSENT, CORPUS, PRESENT

pytestmark = [pytest.mark.integration, pytest.mark.skipif(not PRESENT, reason=ABSENT)]

CONFIG = CORPUS / "sample_interactive_tiebreak" / "sample_interactive_tiebreak_config.json"
CONTEST = "sample_interactive_tiebreak"


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _ok(capsys, *argv) -> str:
    code, out, err = _cli(capsys, *argv)
    assert code == 0, err
    return out


def _status(capsys) -> dict:
    return json.loads(_ok(capsys, "status", "tie", "main"))


def _waiting(capsys) -> dict:
    _ok(capsys, "load", "--rctab-config", CONFIG, "--allow-outside-paths", "--election", "tie")
    _ok(capsys, "seal", "tie", "main")
    _ok(capsys, "run", "tie", "main")
    return _status(capsys)


def test_the_run_waits_for_the_decision_then_completes_with_it_and_verify_replays_it(embedded_db, capsys, tmp_path):
    status = _waiting(capsys)
    assert status["status"] == "WAITING" and status["error"] is None
    assert status["waitingFor"] == {"contest": CONTEST, "round": 2, "purpose": "eliminate",
                                    "candidates": ["George Gervin", "Yinka Dare"], "choose": 1}
    code, _, err = _cli(capsys, "status", "tie", "main", "--watch")  # watching stops at the tie, naming what to do
    assert code == 1 and "waits for an official's tie decision: contest 'sample_interactive_tiebreak', George " \
        "Gervin, Yinka Dare tied (eliminate 1); record it with: tally tie decide 1 1 --contest " \
        "'sample_interactive_tiebreak' --round 2 --choose CANDIDATE --reason TEXT" in err
    code, _, err = _cli(capsys, "run", "tie", "main")  # a waiting run is live: no second one starts
    assert code == 2 and "Tally is already in progress" in err

    answer = json.loads(_ok(capsys, "tie", "decide", "tie", "main", "--contest", CONTEST, "--round", "2",
                            "--choose", "Yinka Dare", "--reason", "lot drawn by the returning officer"))
    assert answer["message"] == "Tie decision recorded: the tally goes on"
    assert _status(capsys)["status"] == "COMPLETED"
    published = json.loads(_ok(capsys, "results", "tie", "--format", "json"))
    (contest,) = published["tallies"][0]["contests"]
    second = contest["result"]["rounds"][1]
    assert second["eliminated"] == ["Yinka Dare"]
    assert second["tie_breaks"][0]["rule"] == "official-decision"
    with session_scope() as session:
        kinds = session.scalars(select(m.AuditEvent.kind).order_by(m.AuditEvent.seq)).all()
    assert kinds.count("tally waiting for a tie decision") == 1 and kinds.count("tie decided") == 1

    _ok(capsys, "export", "tie", "--out", tmp_path)
    files = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in ("ballots", "audit", "results")}
    assert verify(files["ballots"], files["audit"], files["results"]).ok
    decided = next(e for e in files["audit"]["events"] if e["kind"] == "tie decided")
    assert decided["payload"]["reason"] == "lot drawn by the returning officer"
    decided["payload"]["chosen"] = ["George Gervin"]  # the other choice: the re-tally differs from what is published
    rechain_audit(files["audit"])  # as a forger with the database would, so that only the replay can tell
    report = verify(files["ballots"], files["audit"], files["results"])
    assert not report.ok and all("sample_interactive_tiebreak" in line for line in report.differences)
    files["audit"]["events"].remove(decided)
    rechain_audit(files["audit"])
    report = verify(files["ballots"], files["audit"], files["results"])
    assert any("the re-tally needs a tie decision the audit lacks: round 2: George Gervin, Yinka Dare are tied"
               in line for line in report.differences)


def test_a_decision_that_does_not_fit_the_tie_is_refused_and_changes_nothing(embedded_db, capsys):
    code, _, err = _cli(capsys, "tie", "decide", "nosuch", "main", "--contest", CONTEST, "--choose", "x",
                        "--reason", "r")
    assert code == 2
    _waiting(capsys)
    decide = ("tie", "decide", "tie", "main", "--contest", CONTEST)
    refusals = {
        ("--round", "3", "--choose", "Yinka Dare", "--reason", "r"): "round: the tie the run waits for is at round 2",
        ("--round", "2", "--choose", "Mookie Blaylock", "--reason", "r"): "choose: Mookie Blaylock: choose among the tied",
        ("--round", "2", "--choose", "Yinka Dare", "--choose", "George Gervin", "--reason", "r"):
            "choose: the tie needs 1 candidate(s) chosen, got 2",
        ("--round", "2", "--choose", "Yinka Dare", "--reason", " "): "reason: is required",
    }
    for argv, message in refusals.items():
        code, _, err = _cli(capsys, *decide, *argv)
        assert code == 2 and message in err, err
    code, _, err = _cli(capsys, "tie", "decide", "tie", "main", "--contest", "other", "--round", "2",
                        "--choose", "Yinka Dare", "--reason", "r")
    assert code == 2 and f"waits for a tie in contest {CONTEST!r}" in err
    assert _status(capsys)["status"] == "WAITING"
    with session_scope() as session:
        assert session.scalars(select(m.AuditEvent).where(m.AuditEvent.kind == "tie decided")).all() == []


@pytest.mark.slow
def test_with_real_workers_the_run_waits_and_goes_on_after_the_decision(stack):
    """The same, with the real `tally` commands, a real worker and Redis: the waiting run holds no worker."""
    stack.tally("load", "--rctab-config", str(CONFIG), "--allow-outside-paths", "--election", "tie")
    stack.tally("seal", "tie", "main")
    stack.start_worker("w1")
    stack.tally("run", "tie", "main")

    def status() -> dict:
        return json.loads(stack.tally("status", "tie", "main").stdout)

    waiting = wait_for(lambda: (s := status())["status"] == "WAITING" and s, 60, what="the run to wait")
    assert waiting["waitingFor"]["candidates"] == ["George Gervin", "Yinka Dare"]
    stack.tally("tie", "decide", "tie", "main", "--contest", CONTEST, "--round", "2", "--choose", "George Gervin",
                "--reason", "lot")
    second = wait_for(lambda: (s := status())["status"] == "WAITING" and s["waitingFor"]["round"] == 3 and s, 60,
                      what="the run to wait at its second tie")
    assert second["waitingFor"]["purpose"] == "elect"
    stack.tally("tie", "decide", "tie", "main", "--contest", CONTEST, "--round", "3", "--choose", "Mookie Blaylock",
                "--reason", "lot")
    wait_for(lambda: status()["status"] == "COMPLETED", 60, what="the run to complete")
    published = json.loads(stack.tally("results", "tie", "--format", "json").stdout)
    (contest,) = published["tallies"][0]["contests"]
    assert contest["result"]["winners"] == ["Mookie Blaylock"]
    assert [t["rule"] for r in contest["result"]["rounds"] for t in r["tie_breaks"]] == ["official-decision"] * 2
