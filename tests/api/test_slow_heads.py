"""Clients that open connections and never finish their request head must not hold the API: a real
`tally api` process closes each such connection after TALLY_HTTP_HEAD_TIMEOUT seconds, answers a
normal request while a thousand of them are open, and past TALLY_HTTP_MAX_CONNECTIONS says 503."""

from __future__ import annotations

import selectors
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest

from tests.support import Stack

from .conftest import start_api

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEAD_TIMEOUT = 3


def _partial_heads(api: str, count: int) -> list[socket.socket]:
    """Connections that each send a request line and one header, and never the blank line after."""
    address = urlparse(api)
    socks = []
    for _ in range(count):
        sock = socket.create_connection((address.hostname, address.port), timeout=10)
        sock.sendall(f"GET /openapi.json HTTP/1.1\r\nHost: {address.hostname}\r\n".encode())
        socks.append(sock)
    return socks


def _closed_by_server(socks: list[socket.socket], within: float) -> int:
    """How many of the connections the server closes (an end of file, or a reset) within the time."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed, deadline = 0, time.monotonic() + within
    while closed < len(socks) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            try:
                data = key.fileobj.recv(1024)
            except ConnectionResetError:
                data = b""
            assert data == b"", f"a head never finished was answered: {data[:100]!r}"
            selector.unregister(key.fileobj)
            closed += 1
    selector.close()
    return closed


@pytest.fixture
def stack(pg_url, tmp_path):
    stack = Stack(pg_url, "", tmp_path, TALLY_HTTP_HEAD_TIMEOUT=str(HEAD_TIMEOUT), TALLY_HTTP_MAX_CONNECTIONS="1200")
    try:
        yield stack
    finally:
        stack.stop()


def test_a_thousand_unfinished_heads_are_closed_and_the_api_answers_meanwhile(stack):
    api = start_api(stack)
    socks = _partial_heads(api, 1000)
    try:
        started = time.monotonic()
        assert httpx.get(api + "/openapi.json", timeout=HEAD_TIMEOUT).status_code == 200
        assert time.monotonic() - started < HEAD_TIMEOUT  # answered while they are all still open
        assert _closed_by_server(socks, within=HEAD_TIMEOUT + 10) == len(socks)
    finally:
        for sock in socks:
            sock.close()


def test_a_head_sent_a_byte_at_a_time_is_closed_at_its_deadline(stack):
    """Each byte would restart uvicorn's keep-alive timer; the head's deadline does not move."""
    api = start_api(stack)
    address = urlparse(api)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    try:
        started = time.monotonic()
        closed = False
        for byte in b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.5)
            if time.monotonic() - started > HEAD_TIMEOUT + 5:
                break
        if not closed:
            sock.settimeout(5)
            closed = sock.recv(1024) == b""
        assert closed and time.monotonic() - started < HEAD_TIMEOUT + 5
    finally:
        sock.close()


def test_a_keep_alive_connection_gets_a_new_deadline_for_each_request(stack):
    api = start_api(stack)
    with httpx.Client(base_url=api, timeout=10) as client:
        for _ in range(3):  # one connection, requests a second apart: each head is on time
            assert client.get("/openapi.json").status_code == 200
            time.sleep(1)


def test_past_the_connection_limit_a_request_is_refused_not_kept_waiting(pg_url, tmp_path):
    stack = Stack(pg_url, "", tmp_path, TALLY_HTTP_HEAD_TIMEOUT=str(HEAD_TIMEOUT), TALLY_HTTP_MAX_CONNECTIONS="20")
    try:
        api = start_api(stack)
        socks = _partial_heads(api, 25)
        try:
            assert httpx.get(api + "/openapi.json", timeout=HEAD_TIMEOUT).status_code == 503
            assert _closed_by_server(socks, within=HEAD_TIMEOUT + 10) == len(socks)
            assert httpx.get(api + "/openapi.json", timeout=HEAD_TIMEOUT).status_code == 200
        finally:
            for sock in socks:
                sock.close()
    finally:
        stack.stop()
