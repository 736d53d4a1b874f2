"""The HTTP server under the API (uvicorn with h11), bounded against clients that hold connections.

uvicorn times out an idle keep-alive connection, but not one that sends its request head slowly:
any byte cancels its keep-alive timer, and a head may never end. Here every connection must
complete its request line and headers within TALLY_HTTP_HEAD_TIMEOUT seconds of opening (or of the
last response), or it is closed unanswered; an unauthenticated client can then hold a connection
only for that long. Past TALLY_HTTP_MAX_CONNECTIONS open connections, requests get 503 (uvicorn's
limit_concurrency) rather than waiting: keep the process's file limit (`ulimit -n`) above it."""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from config.settings import Settings


def protocol(head_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline on each request head."""

    class HeadTimedProtocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_head()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the head is in: the body has its own timeout
                self._head_received()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_received()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            self._head_received()
            self._head_timer = self.loop.call_later(head_timeout, self._head_late)

        def _head_received(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self) -> None:
            self._head_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeadTimedProtocol


def serve(app, settings: Settings, host: str, port: int, log_level: str) -> None:
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, http=protocol(settings.http_head_timeout),
                timeout_keep_alive=settings.http_keepalive, limit_concurrency=settings.http_max_connections)
