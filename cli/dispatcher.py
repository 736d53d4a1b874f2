"""The outbox of the commands that start runs (run, advance, demo, reconcile, tie decide)."""

from __future__ import annotations


def install_dispatcher() -> None:
    """For the commands that start runs: the outbox sends them through the worker application's
    tasks (imported here, not at start-up: Celery is only loaded by the commands that need it)."""
    from tasks.dispatch import install

    install()
