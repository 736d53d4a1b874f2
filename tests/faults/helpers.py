"""Shared pieces of the fault tests: worker processes and database probes.

Everything is bounded: every wait has a timeout, every process started here is stopped here."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from sqlalchemy import func, select, text

from models import entities as m
from models.db import session_scope
from services.read.results import published
from tests.support import BIN, REPO, Stack, wait_for

SWEEP_APP = "tests.faults.sweep_app"


def start_worker(stack: Stack, name: str, concurrency: int = 1, wait: bool = True,
                 app: str = SWEEP_APP) -> subprocess.Popen:
    """Like Stack.start_worker, with the fault tests' app (worker.app + a fast unacked sweep)."""
    stack.env.setdefault("PYTHONPATH", str(REPO))
    proc = stack._spawn(
        name,
        [str(BIN / "celery"), "-A", app, "worker", "-n", f"{name}@%h", "-c", str(concurrency),
         "-P", "prefork", "-Q", "tally", "--without-mingle", "--without-gossip", "-l", "INFO"],
    )
    if wait:
        stack.wait_for_workers([name])
    return proc


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (the prefork pool's processes of a worker), from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return sorted(out)


def kill_pool_child(stack: Stack, name: str) -> int:
    """SIGKILL one prefork child of worker `name` and wait until the parent has reaped it and forked
    a new one: an area task now takes milliseconds, so the tally could otherwise reach the next
    step of a test before the worker noticed the loss."""
    parent = stack.processes[name].pid
    kids = wait_for(lambda: children(parent), 10, 0.05, f"a pool process of {name}")
    os.kill(kids[0], signal.SIGKILL)
    wait_for(lambda: [k for k in children(parent) if k != kids[0]], 30, 0.02, f"a new pool process of {name}")
    return kids[0]


# --- database probes -----------------------------------------------------------------------------

def latest_run(url: str, period_id: int) -> m.TallyRun | None:
    with session_scope(url) as session:
        return session.scalar(
            select(m.TallyRun).where(m.TallyRun.voting_period_id == period_id).order_by(m.TallyRun.id.desc()).limit(1)
        )


def runs(url: str, period_id: int) -> list[tuple[int, str, str | None]]:
    with session_scope(url) as session:
        return [(r.id, r.status.value, r.error) for r in session.scalars(
            select(m.TallyRun).where(m.TallyRun.voting_period_id == period_id).order_by(m.TallyRun.id))]


def staged_areas(url: str, run_id: int) -> int:
    with session_scope(url) as session:
        return session.scalar(
            select(func.count()).select_from(m.StagedAreaResult).where(m.StagedAreaResult.run_id == run_id))


def wait_run_over(url: str, period_id: int, timeout: float) -> tuple[int, str, str | None]:
    """Wait until the period's latest run is COMPLETED or FAILED; returns (id, status, error)."""
    def over():
        rows = runs(url, period_id)
        return rows and rows[-1][1] in ("COMPLETED", "FAILED", "ROLLED_BACK") and rows[-1]

    return wait_for(over, timeout, 0.2, f"the run of period {period_id} to end")


def results(url: str, election_id: int) -> dict[str, dict]:
    with session_scope(url) as session:
        tallies = published(session, election_id)["tallies"]
    assert len(tallies) == 1, f"expected one published tally, got {len(tallies)}"
    return {c["contest"]: c["result"] for c in tallies[0]["contests"]}


def published_rows(url: str, run_id: int | None = None) -> dict[str, int]:
    """Rows of the published tables (of one run, or all of them)."""
    tables = {
        "certified_results": m.CertifiedResult,
        "certified_candidate_results": m.CertifiedCandidateResult,
        "winner_assignments": m.WinnerAssignment,
    }
    out = {}
    with session_scope(url) as session:
        for name, model in tables.items():
            query = select(func.count()).select_from(model)
            if run_id is not None:
                query = query.where(model.run_id == run_id)
            out[name] = session.scalar(query)
    return out


def audit_kinds(url: str, run_id: int) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        return [(e.kind, e.payload) for e in session.scalars(
            select(m.AuditEvent).where(m.AuditEvent.run_id == run_id).order_by(m.AuditEvent.seq))]


def election_status(url: str, election_id: int) -> str:
    with session_scope(url) as session:
        return session.get(m.Election, election_id).status


def period_status(url: str, period_id: int) -> str:
    with session_scope(url) as session:
        return session.get(m.VotingPeriod, period_id).status.value


class NoPartialResults:
    """A reader polling the published tables throughout a test: certified rows of a run that is
    not COMPLETED, or two COMPLETED runs of one period, are recorded as violations."""

    QUERY = (
        "SELECT (SELECT count(*) FROM certified_results c JOIN tally_runs r ON r.id = c.run_id"
        "        WHERE r.status <> 'COMPLETED')"
        "     + (SELECT count(*) FROM winner_assignments w JOIN tally_runs r ON r.id = w.run_id"
        "        WHERE r.status <> 'COMPLETED'),"
        "       (SELECT count(*) FROM (SELECT voting_period_id FROM tally_runs WHERE status = 'COMPLETED'"
        "        GROUP BY voting_period_id HAVING count(*) > 1) twice)"
    )

    def __init__(self, url: str, interval: float = 0.05):
        self.url = url
        self.interval = interval
        self.observations = 0
        self.violations: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with session_scope(self.url) as session:
                    partial, twice = session.execute(text(self.QUERY)).one()
            except Exception:  # the database may be disturbed on purpose; keep reading
                time.sleep(self.interval)
                continue
            self.observations += 1
            if partial or twice:
                self.violations.append((partial, twice))
            time.sleep(self.interval)

    def __enter__(self) -> "NoPartialResults":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self) -> None:
        assert self.observations > 0, "the reader made no observation"
        assert not self.violations, f"a reader saw partial or doubled results: {self.violations[:5]}"
