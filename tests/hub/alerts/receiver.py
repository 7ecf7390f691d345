"""A real HTTP receiver for webhooks, in a thread of the test process, that can go down and up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[tuple[bytes, dict[str, str]]] = []
        self.hang_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.hang_s)
                receiver.bodies.append((body, dict(self.headers)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        with socket.socket() as s:  # a free port, kept free while the receiver is "down"
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.handler = Handler
        self.server: ThreadingHTTPServer | None = None

    def up(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver up for the test; imported by the folders' conftest or test module that need it."""
    r = Receiver()
    r.up()
    yield r
    r.down()
