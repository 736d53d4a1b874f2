"""The transactional outbox of tally dispatches.

A run is never left without a task behind it: whoever decides that a run must start (a request, a
beat `advance`, the reconciler) adds a `dispatches` row in the same transaction, and a dispatcher
pass, after that commit, sends each unsent row's `tally.start` and marks it sent. If the broker is
down the row stays unsent, with the error, and the next pass (beat's `advance` and `reconcile`,
`tally run`, `tally advance`) sends it once the broker is back. Sending twice (two passes at once,
or a crash between sending and marking) is harmless: every tally step is idempotent.

The outbox does not know Celery: what sends a run's `tally.start` is a `Sender` that the worker
application installs (tasks.dispatch.install, called by the Celery worker, the API and the CLI),
so the service layer imports no task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import entities as m
from models.db import after_commit, session_scope

# Sends one run's `tally.start`; raises (Unreachable when a server did not answer) if it was not sent.
Sender = Callable[[int], None]

_sender: Sender | None = None


def install(sender: Sender) -> None:
    """Make `sender` the way the outbox sends (one per process: the worker application's)."""
    global _sender
    _sender = sender


@dataclass
class Sent:
    sent: list[int] = field(default_factory=list)  # run ids whose tally.start the broker took
    unsent: list[int] = field(default_factory=list)  # run ids still waiting in the outbox
    error: BaseException | None = None  # why the broker refused, when it did


def enqueue(session: Session, run_id: int, reason: str) -> None:
    """Ask for the run's `tally.start`: committed, or rolled back, with the caller's transaction,
    and sent at once after that commit when the broker answers."""
    session.add(m.Dispatch(run_id=run_id, reason=reason))
    url = session.get_bind().url.render_as_string(hide_password=False)
    after_commit(session, lambda: send_pending(url, [run_id]))


def unsent(session: Session, run_id: int) -> bool:
    return session.scalar(
        select(m.Dispatch.id).where(m.Dispatch.run_id == run_id, m.Dispatch.sent_at.is_(None)).limit(1)
    ) is not None


def last_sent(session: Session, run_id: int):
    """When the run's latest dispatch reached the broker (None if none did)."""
    return session.scalar(select(func.max(m.Dispatch.sent_at)).where(m.Dispatch.run_id == run_id))


def last_error(session: Session, run_id: int) -> str | None:
    return session.scalar(
        select(m.Dispatch.last_error).where(m.Dispatch.run_id == run_id, m.Dispatch.sent_at.is_(None))
        .order_by(m.Dispatch.id.desc()).limit(1)
    )


def send_pending(url: str | None = None, run_ids: list[int] | None = None) -> Sent:
    """Send every unsent dispatch (or those of `run_ids`), oldest first, each in its own
    transaction with its row locked (another dispatcher skips it). Stops at the first broker
    error: the broker is down for the rest too. Never raises for the broker."""
    send = _installed()
    outcome = Sent()
    with session_scope(url) as session:
        query = select(m.Dispatch.id, m.Dispatch.run_id).where(m.Dispatch.sent_at.is_(None)).order_by(m.Dispatch.id)
        if run_ids is not None:
            query = query.where(m.Dispatch.run_id.in_(run_ids))
        pending = session.execute(query).all()
    for dispatch_id, run_id in pending:
        if outcome.error is not None:
            outcome.unsent.append(run_id)
            continue
        with session_scope(url) as session:
            row = session.scalar(
                select(m.Dispatch).where(m.Dispatch.id == dispatch_id, m.Dispatch.sent_at.is_(None))
                .with_for_update(skip_locked=True)
            )
            if row is None:
                continue  # sent meanwhile by another pass
            try:
                send(run_id)
            except Exception as exc:  # the broker's error types vary by transport; all mean "not sent"
                row.attempts += 1
                row.last_error = str(exc)[:2000] if isinstance(exc, Unreachable) else f"{type(exc).__name__}: {exc}"
                outcome.error = exc
                outcome.unsent.append(run_id)
                continue
            row.sent_at = m.utcnow()
            row.attempts += 1
            outcome.sent.append(run_id)
    return outcome


class Unreachable(Exception):
    """The broker or the result backend did not answer: `where` says which."""

    def __init__(self, where: str, exc: BaseException):
        super().__init__(f"{where}: {type(exc).__name__}: {exc}")
        self.where = where


def _installed() -> Sender:
    if _sender is None:
        # A programming error, not a broker outage: rows would wait forever, so it is raised.
        raise RuntimeError("no tally dispatcher installed: call tasks.dispatch.install() at start-up")
    return _sender
