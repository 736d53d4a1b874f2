"""What a client without a valid token can cost the API (a real `tally api` process on PostgreSQL):
the token is checked before the body is read, bodies are capped, a body that does not come times
out, and a client guessing tokens is refused with 429."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.support import Stack

from .conftest import assert_error, bearer, make_election, make_token, start_api

pytestmark = pytest.mark.integration

MB = 1 << 20


@pytest.fixture
def api(pg_url, tmp_path):
    stack = Stack(pg_url, "", tmp_path, TALLY_AUTH_FAILURES="5", TALLY_AUTH_WINDOW="4",
                  TALLY_HTTP_BODY_TIMEOUT="2", TALLY_MAX_BODY_BYTES="65536")
    try:
        election = make_election(pg_url, "guard", ballots=10)
        url = start_api(stack)
        yield stack, url, election, bearer(make_token(pg_url))
    finally:
        stack.stop()


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _raw_post(url: str, path: str, headers: dict, body: bytes, declared: int) -> bytes:
    """POST declaring `declared` bytes, send `body` of them, and read what the server answers."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": "x", "Content-Type": "application/json",
                                                  "Content-Length": str(declared), **headers}.items())
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        try:
            sock.sendall(body)
        except OSError:
            pass  # the server answered and closed without reading the body
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_huge_body_without_a_token_is_refused_before_it_is_read(api):
    stack, url, election, admin = api
    pid = stack.processes["api"].pid
    before = _rss(pid)
    answer = _raw_post(url, election.base() + "/run", {}, b"x" * (8 * MB), declared=150 * MB)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    grown = _rss(pid) - before
    assert grown < 8 * MB, f"the API grew by {grown / MB:.1f} MB for a body it refused"
    print(f"\n150 MB POST without a token: 401, the API grew by {grown / MB:.2f} MB")


def test_a_malformed_body_without_a_token_gets_401(api):
    _stack, url, election, _admin = api
    response = httpx.post(url + election.base() + "/run", content=b"{oops", headers={"Content-Type": "application/json"})
    assert_error(response, 401)


def test_bodies_are_capped_for_admins_too(api):
    _stack, url, election, admin = api
    answer = _raw_post(url, election.base() + "/run", admin, b"{}", declared=150 * MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]

    def chunks():  # no Content-Length: the cap is counted as the body arrives
        for _ in range(200):
            yield b" " * 1024

    response = httpx.post(url + election.base() + "/run", content=chunks(), headers={**admin, "Content-Type": "application/json"})
    assert_error(response, 413)
    # a body within the cap still works
    assert httpx.get(url + election.base() + "/status", headers=admin).status_code == 200


def test_a_body_that_does_not_come_times_out(api):
    _stack, url, election, admin = api
    address = urlparse(url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=20) as sock:
        token = admin["Authorization"]
        sock.sendall(f"POST {election.base()}/run HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode())
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert time.monotonic() - started < 10


@pytest.mark.slow
def test_failed_token_checks_are_rate_limited_per_client(api):
    _stack, url, election, admin = api
    status = url + election.base() + "/status"
    for i in range(5):
        assert_error(httpx.get(status, headers=bearer(f"tly_guess-{i}")), 401)
    refused = httpx.get(status, headers=bearer("tly_guess-5"))
    assert_error(refused, 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert_error(httpx.get(status, headers=admin), 429)  # a right guess now is refused too
    time.sleep(int(refused.headers["retry-after"]) + 0.5)
    assert httpx.get(status, headers=admin).status_code == 200
    # the public files are not behind the limiter
    assert httpx.get(url + f"/elections/{election.id}/public/results.json").status_code == 404
