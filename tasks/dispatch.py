"""How the dispatch outbox (services.lifecycle.dispatch) reaches Celery: the `Sender` that sends a run's
`tally.start`. Installed once per process by whoever runs the tally application: the Celery worker
(at worker start, below: worker.app includes this module), the admin API (api.app.create_app) and
the `tally` commands that start runs (cli)."""

from __future__ import annotations

from celery.signals import worker_init

from services.lifecycle import dispatch

from .tally import start_tally

# One attempt to reach the broker, bounded, instead of Celery's default publish retries (about
# 20 s with Redis down): the row waits in the outbox, so a later pass retries for us.
BROKER_TIMEOUT = 3.0


def install() -> None:
    dispatch.install(send_start)


@worker_init.connect
def _install_in_the_worker(**_kwargs) -> None:
    """Beat's `advance` and `reconcile` run in the workers and send the runs they start through the outbox."""
    install()


def send_start(run_id: int) -> None:
    """Send the run's `tally.start`, or raise (dispatch.Unreachable when a server did not answer)."""
    app = start_tally.app
    if app.conf.task_always_eager:  # embedded: the tally runs here and now
        start_tally.apply_async((run_id,))
        return
    with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as connection:
        try:
            connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
        except Exception as exc:
            raise dispatch.Unreachable("broker", exc) from exc
        _check_result_backend(app.conf.result_backend)
        try:
            # Nobody reads tally.start's result: not asking for it keeps the backend out of the send.
            start_tally.apply_async((run_id,), connection=connection, retry=False, ignore_result=True)
        except Exception as exc:
            raise dispatch.Unreachable("broker", exc) from exc


def _check_result_backend(url: str) -> None:
    """The chords keep their state in the result backend: a tally sent while it is down could
    not finish, so the dispatch waits for it like for the broker."""
    if not url.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise dispatch.Unreachable("result backend", exc) from exc
    finally:
        client.close()
