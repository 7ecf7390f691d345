"""The served hub lets a connection go when its client closes it (hub/web/server.py)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.hub_process import start_hub


def test_a_connection_the_client_closed_is_closed_at_once_not_at_the_keep_alive_timer(
    tmp_path: Path,
) -> None:
    # The keep-alive timer at 120 s: a hub that waited for it would leave the socket open far
    # past the 30 s this test waits (Hypercorn 0.18 did, holding every closed connection).
    hub = start_hub(tmp_path / "hub", env={"HOSTPULSE_HEADER_TIMEOUT_S": "120",
                                           "HOSTPULSE_READ_TIMEOUT_S": "120"})  # fmt: skip
    try:
        where = urlsplit(hub.url)
        with socket.create_connection((where.hostname, where.port), timeout=30) as conn:
            conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {where.netloc}\r\n\r\n".encode())
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                piece = conn.recv(65536)
                assert piece, answer
                answer += piece
            assert answer.startswith(b"HTTP/1.1 200")
            conn.shutdown(socket.SHUT_WR)  # the client's EOF, its connection kept alive till now
            assert conn.recv(65536) == b""  # the hub closed its side: no socket.timeout
    finally:
        hub.stop()
