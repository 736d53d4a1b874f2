"""worker.app as deployed (with the optional area pace of paced_app), plus a fast kombu "unacked" sweep,
for the fault tests only.

A worker killed whole (SIGKILL of its process group) leaves its reserved message in Redis's unacked
set; kombu gives it back once it is older than the visibility timeout (TALLY_VISIBILITY_TIMEOUT), but
only when a sweep runs: kombu 5.7 sweeps every unacked_restore_interval (10 s) x
unacked_restore_throttle (10) = ~100 s in a prefork worker. worker/app.py sets only the visibility
timeout, so the tests shorten the sweep here to see redelivery within seconds."""

from tests.faults.paced_app import app

app.conf.broker_transport_options = {
    **app.conf.broker_transport_options,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

__all__ = ["app"]
