"""Ten clients without a token that open ballots.json, read 1 KB and stop reading must not take the
admin API down: the exports are served from rendered files, with no database connection held
while a client reads (a real `tally api` process on PostgreSQL)."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import text

from tests.support import Stack

from .conftest import bearer, make_election, make_token, start_api

pytestmark = pytest.mark.integration

READERS = 10


def _slow_reader(api: str, path: str) -> socket.socket:
    """A client that asks for the file, reads 1 KB and then never reads again."""
    address = urlparse(api)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the server must wait
    sock.connect((address.hostname, address.port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {address.hostname}\r\n\r\n".encode())
    sock.settimeout(120)
    got = sock.recv(1024)
    assert got.startswith(b"HTTP/1.1 200"), got[:200]
    return sock


def _read_to_end(sock: socket.socket) -> bytes:
    sock.settimeout(30)
    chunks = []
    while chunk := sock.recv(1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _idle_in_transaction(url: str) -> int:
    from models.db import session_scope

    with session_scope(url) as session:
        return session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()")).scalar()


@pytest.mark.slow
def test_slow_unauthenticated_readers_do_not_take_the_api_down(pg_url, tmp_path):
    # no broker: the tally runs in-process, eagerly; a client that stops reading is dropped after 5 s
    stack = Stack(pg_url, "", tmp_path, TALLY_HTTP_SEND_TIMEOUT="5")
    try:
        election = make_election(pg_url, "slow-readers", ballots=20_000)  # 60,000 ballots: ~20 MB of JSON
        stack.tally("run", str(election.id), str(election.period_id), "--force")
        admin = bearer(make_token(pg_url))
        api = start_api(stack)
        path = f"/elections/{election.id}/public/ballots.json"

        readers = [_slow_reader(api, path) for _ in range(READERS)]
        try:
            time.sleep(2)  # let the readers' buffers fill and the server wait on them
            started = time.monotonic()
            status = httpx.get(api + election.base() + "/status", headers=admin, timeout=60)
            results = httpx.get(api + f"/elections/{election.id}/public/results.json", timeout=60)
            elapsed = time.monotonic() - started
            assert status.status_code == 200, status.text
            assert status.json()["status"] == "COMPLETED"
            assert results.status_code == 200, results.text
            assert elapsed < 10, f"the API answered in {elapsed:.1f} s with {READERS} slow readers"
            assert _idle_in_transaction(pg_url) == 0
            print(f"\n{READERS} slow readers: status and results.json answered in {elapsed:.2f} s")

            whole = httpx.get(api + path, timeout=60)
            assert whole.status_code == 200 and len(whole.content) > 10_000_000
            time.sleep(6)  # TALLY_HTTP_SEND_TIMEOUT: the stalled readers have been dropped
            for sock in readers:
                assert len(_read_to_end(sock)) < len(whole.content) // 2
        finally:
            for sock in readers:
                sock.close()

        # a fresh read gives the same file, and its ETag answers 304
        assert httpx.get(api + path, timeout=60).content == whole.content
        again = httpx.get(api + path, headers={"If-None-Match": whole.headers["etag"]}, timeout=60)
        assert again.status_code == 304 and again.content == b""
    finally:
        stack.stop()
