"""A stand-in hub for the agent's tests: a real HTTP server on 127.0.0.1 that records every request.

It speaks the ingest side of docs/protocol.md — bearer token, gzip, columnar JSON, duplicate batch
ids answered ``"duplicate": true`` — and can be told to answer the next requests with a given
status, or be stopped and started again on the same port to play a hub that goes away.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    payload: Any
    status: int


@dataclass
class Sink:
    token: str = "test-token-1234"
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    #: (status, headers, body) answered to the next requests, before normal handling.
    script: deque[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=deque)
    stored: dict[str, Any] = field(default_factory=dict)  # batch_id -> payload, in arrival order
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Sink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, headers, answer = sink.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            payload: Any = None
            try:
                raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
                payload = json.loads(raw)
            except (OSError, ValueError):
                pass
            if self.script:
                status, extra, answer = self.script.popleft()
            elif path != "/api/v1/ingest":
                status, extra, answer = 404, {}, {"error": {"code": "not_found", "message": path}}
            elif headers.get("Authorization") != f"Bearer {self.token}":
                status, extra, answer = 401, {}, {"error": {"code": "unauthorized", "message": "token"}}
            elif not isinstance(payload, dict) or payload.get("version") != 1:
                status, extra, answer = 400, {}, {"error": {"code": "malformed", "message": "bad"}}
            else:
                batch_id = payload["batch_id"]
                duplicate = batch_id in self.stored
                if not duplicate:
                    self.stored[batch_id] = payload
                accepted = sum(len(s["values"]) for s in payload["series"])
                status, extra = 200, {}
                answer = {"batch_id": batch_id, "accepted": accepted, "duplicate": duplicate}
            self.requests.append(Request(path, headers, payload, status))
        with self.arrived:
            self.arrived.notify_all()
        return status, extra, answer

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        """Block until ``predicate(self)`` holds (checked after each request) or the timeout passes."""
        with self.arrived:
            return self.arrived.wait_for(lambda: predicate(self), timeout)

    def samples(self) -> list[tuple[str, dict[str, str], int, float]]:
        """Every stored sample (duplicates excluded) as (metric, labels, ts, value)."""
        with self._lock:
            payloads = list(self.stored.values())
        return [
            (series["metric"], series["labels"], ts, value)
            for payload in payloads
            for series in payload["series"]
            for ts, value in zip(series["ts"], series["values"], strict=True)
        ]
