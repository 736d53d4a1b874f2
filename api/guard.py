"""The ASGI layer in front of the application: what a client can cost the API before it is trusted.

- An admin request is authenticated from its headers before a byte of its body is read, so a
  caller without a valid token gets its 401 (or 403) whatever it sends, and sends it for nothing.
- A client that presents wrong tokens too often is refused with 429 for a while, valid token or not
  (TALLY_AUTH_FAILURES per TALLY_AUTH_WINDOW seconds, counted per client address and API process).
- Request bodies are capped (TALLY_MAX_BODY_BYTES: 413) and must arrive within
  TALLY_HTTP_BODY_TIMEOUT seconds (408); the body is read here, bounded, and handed on whole.
  An upload (api.uploads) is the exception: its body is a file, streamed on to the route, which
  caps it at TALLY_UPLOAD_MAX_BYTES; here a declared length past that is refused at once (413) and
  each read must arrive within TALLY_HTTP_BODY_TIMEOUT seconds.
- A response the client stops reading is abandoned after TALLY_HTTP_SEND_TIMEOUT seconds."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

import anyio
from fastapi.responses import JSONResponse

from config.settings import Settings

from .auth import AuthError, admin_from_header

ADMIN_PREFIX = "/api/v1/admin/"
UPLOAD_ELECTIONS = "/api/v1/admin/elections"  # api.uploads: bodies that are files
UPLOAD_SUFFIX = "/ballots"
_CLIENTS_KEPT = 100_000  # clients whose failures are remembered: a bound on the limiter's memory


class FailureLimiter:
    """Failed token checks per client in a sliding window."""

    def __init__(self, limit: int, window: float):
        self.limit = limit
        self.window = window
        self._failures: OrderedDict[str, deque] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque:
        times = self._failures.get(client)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int:
        """0 if the client may try, else the seconds until its oldest failure leaves the window."""
        now = time.monotonic()
        times = self._recent(client, now)
        if len(times) < self.limit:
            return 0
        return max(1, int(times[0] + self.window - now + 1))

    def failed(self, client: str) -> None:
        now = time.monotonic()
        times = self._recent(client, now)
        times.append(now)
        self._failures[client] = times
        self._failures.move_to_end(client)
        while len(self._failures) > _CLIENTS_KEPT:
            self._failures.popitem(last=False)


class Guard:
    def __init__(self, app, settings: Settings, error_response):
        self.app = app
        self.settings = settings
        self.error_response = error_response
        self.limiter = FailureLimiter(settings.auth_failures, settings.auth_window)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = await self._admit(scope)
        if refusal is None and _is_upload(scope):
            refusal, receive = self._upload(scope, receive)
        elif refusal is None:
            refusal, receive = await self._body(scope, receive)
        if refusal is not None:
            return await refusal(scope, receive, send)
        await self.app(scope, receive, self._bounded_send(send))

    async def _admit(self, scope) -> JSONResponse | None:
        if not scope["path"].startswith(ADMIN_PREFIX):
            return None
        client = (scope.get("client") or ("unknown",))[0]
        wait = self.limiter.retry_after(client)
        if wait:
            return self.error_response(429, "Too many failed authentication attempts; try again later",
                                       {"Retry-After": str(wait)})
        header = _header(scope, b"authorization")
        try:
            principal = await anyio.to_thread.run_sync(admin_from_header, header)
        except AuthError as exc:
            if exc.status == 401 and header:
                self.limiter.failed(client)
            return self.error_response(exc.status, exc.message, exc.headers)
        scope.setdefault("state", {})["principal"] = principal
        return None

    async def _body(self, scope, receive):
        """The whole request body, read here within the cap and the timeout, then replayed."""
        cap = self.settings.max_body_bytes
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return self._too_large(), receive
        if length is None and _header(scope, b"transfer-encoding") is None:
            return None, receive  # no body
        chunks, size = [], 0
        try:
            with anyio.fail_after(self.settings.http_body_timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return None, _replay(receive, [], message)
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > cap:
                        return self._too_large(), receive
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return self.error_response(408, "Request body not received in time"), receive
        return None, _replay(receive, chunks)

    def _upload(self, scope, receive):
        cap = self.settings.upload_max_bytes
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            return self.error_response(413, f"Request body larger than {cap} bytes (TALLY_UPLOAD_MAX_BYTES)"), receive
        limit = self.settings.http_body_timeout

        async def each_read_bounded():
            with anyio.fail_after(limit):
                return await receive()

        return None, each_read_bounded

    def _too_large(self) -> JSONResponse:
        return self.error_response(413, f"Request body larger than {self.settings.max_body_bytes} bytes")

    def _bounded_send(self, send):
        limit = self.settings.http_send_timeout

        async def bounded(message):
            # The server's send waits while the client does not read; a stalled client is dropped.
            with anyio.fail_after(limit):
                await send(message)

        return bounded


def _is_upload(scope) -> bool:
    path = scope["path"]
    return scope.get("method") == "POST" and path.startswith(ADMIN_PREFIX) and (
        path == UPLOAD_ELECTIONS or path.endswith(UPLOAD_SUFFIX))


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _replay(receive, chunks: list[bytes], last: dict | None = None):
    """The body already read, as one message; then the server's own messages (a disconnect)."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}] if last is None else [last]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed
