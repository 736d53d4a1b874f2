"""Every command in docs/runbooks runs against a real database and prints what the runbook shows."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from datetime import timedelta

import pytest

from models import entities as m
from models.db import session_scope
from services.lifecycle import periods, runs, sealing
from services.loading.ballots import load_ballots
from services.loading.definition import load_definition
from services.lifecycle.commands import RequestTally, SealPeriod
from services.loading.cvr import load_rctab
from tests.cvr.corpus import CORPUS
from tests.support import BIN, REPO, postgres_database

RUNBOOKS = sorted((REPO / "docs" / "runbooks").glob("*.md"))
INTERACTIVE_TIE = CORPUS / "sample_interactive_tiebreak" / "sample_interactive_tiebreak_config.json"
RUNBOOKS = [p for p in RUNBOOKS if p.name != "README.md"]


def console_steps(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected lines) for every `$ ` line of every ```console block."""
    steps = []
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif line.strip():
                steps[-1][1].append(line)
    return steps


def _pattern(expected: str) -> re.Pattern:
    return re.compile("^" + ".*".join(re.escape(part) for part in expected.split("…")) + "$")


def assert_shows(actual: str, expected: list[str], command: str) -> None:
    """The expected lines appear in the output in this order (others may come between)."""
    lines = actual.splitlines()
    position = 0
    for want in expected:
        pattern = _pattern(want)
        while position < len(lines) and not pattern.match(lines[position]):
            position += 1
        assert position < len(lines), f"`{command}` did not print {want!r}:\n{actual}"
        position += 1


def _setup(url: str, kind: str) -> None:
    if kind == "tie-waiting":  # RCTab's interactive tie case: the run waits at its round-2 tie
        with session_scope(url) as session:
            load_rctab(session, INTERACTIVE_TIE, "tie", allow_outside_paths=True)
        with session_scope(url) as session:
            SealPeriod(1, 1, by="cli").run(session)
        with session_scope(url) as session:
            RequestTally(1, 1, trigger="cli").run(session)  # embedded: tallied right after commit
        return
    definition = json.loads((REPO / "examples" / "election.json").read_text())
    if kind == "period-open":
        definition["voting_periods"][0]["ends_at"] = (periods.now() + timedelta(days=1)).isoformat()
    if kind == "period-ended-at-close":  # ballots arrived while voting was open; closing seals them
        definition["voting_periods"][0]["seal"] = "at-close"
    ballots = json.loads((REPO / "examples" / "ballots.json").read_text())
    with session_scope(url) as session:
        load_definition(session, definition)
        load_ballots(session, ballots["election"], ballots["period"], ballots["ballots"])
    if kind in ("period-ended", "period-open", "period-ended-at-close"):
        return
    with session_scope(url) as session:
        period = session.get(m.VotingPeriod, 1)
        periods.close_period(session, period, "voting period ended")
        sealing.seal_period(session, period, "sealed by cli")
        if kind == "completed-run":
            RequestTally(1, 1, trigger="cli").run(session)  # embedded: tallied right after commit
            return
        run = m.TallyRun(election_id=1, voting_period_id=1, status=m.RunStatus.RUNNING, started_at=periods.now(),
                         heartbeat_at=periods.now() - timedelta(hours=1), dispatches=1, areas_total=4)
        session.add(run)
        session.flush()
        if kind == "failed-run":
            runs.fail_run(session, run, "finalize failed: the database connection was reset")


@pytest.mark.slow
@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[p.stem for p in RUNBOOKS])
def test_runbook_commands_print_what_the_runbook_shows(runbook, monkeypatch, tmp_path, tally_dispatcher):
    text = runbook.read_text()
    setup = re.search(r"<!-- runbook-setup: ([\w-]+) -->", text)
    assert setup, f"{runbook.name} names no setup"
    steps = console_steps(text)
    assert steps, f"{runbook.name} has no commands"
    with postgres_database() as url:
        monkeypatch.setenv("DATABASE_URL", url)
        _setup(url, setup.group(1))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "TALLY_"))}
        env.update(DATABASE_URL=url, TALLY_HOME=str(tmp_path))
        for command, expected in steps:
            argv = shlex.split(command)
            assert argv[0] == "tally", command
            result = subprocess.run([str(BIN / "tally"), *argv[1:]], env=env, cwd=tmp_path, capture_output=True, text=True,
                                    timeout=300)
            if not any(line.startswith("error:") for line in expected):
                assert result.returncode == 0, f"`{command}` failed: {result.stderr}"
            assert_shows(result.stdout + result.stderr, expected, command)


def test_the_matcher_rejects_a_wrong_output():
    with pytest.raises(AssertionError):
        assert_shows("closed: election 2 period 1\n", ["closed: election 1 period 1"], "tally advance")
    assert_shows("a\nx: 5\nb\n", ["x: …", "b"], "ok")
