"""What beat runs, and how often (TALLY_ADVANCE_INTERVAL, TALLY_RECONCILE_INTERVAL)."""

from config.settings import Settings


def beat_schedule(settings: Settings) -> dict:
    return {
        "advance-elections": {"task": "scheduler.advance", "schedule": settings.advance_interval},
        "reconcile-tallies": {"task": "scheduler.reconcile", "schedule": settings.reconcile_interval},
    }
