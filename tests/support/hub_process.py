"""Running the real ``hostpulse`` CLI and hub as subprocesses, the way users do."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOSTPULSE = str(Path(sys.executable).with_name("hostpulse"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOSTPULSE, *args], capture_output=True, text=True, timeout=timeout, check=check,
        env={**os.environ, **(env or {})}, input=input,
    )


def now_ms() -> int:
    return int(time.time() * 1000)


def make_batch(host: str, series: list[dict[str, Any]], batch_id: str | None = None) -> dict[str, Any]:
    return {"version": 1, "batch_id": batch_id or uuid.uuid4().hex, "host": host,
            "agent": {"version": "test"}, "series": series}


@dataclass
class LiveHub:
    url: str
    db: str
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/api/v1/stream"

    def token(self, host: str) -> str:
        """A token for ``host``, created once with ``hostpulse token create`` against this hub's DB."""
        if host not in self.tokens:
            out = run_cli("token", "create", host, "--db", self.db)
            self.tokens[host] = out.stdout.strip().splitlines()[-1]
        return self.tokens[host]

    def post_batch(self, host: str, series: list[dict[str, Any]], *, batch_id: str | None = None,
                   token: str | None = None, compress: bool = False) -> httpx.Response:
        body = json.dumps(make_batch(host, series, batch_id)).encode()
        headers = {"Authorization": f"Bearer {token or self.token(host)}", "Content-Type": "application/json"}
        if compress:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        return httpx.post(f"{self.url}/api/v1/ingest", content=body, headers=headers, timeout=30)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_hub(workdir: Path, *, db: str | None = None, extra_args: tuple[str, ...] = (),
              env: dict[str, str] | None = None, port: int | None = None, scheme: str = "http",
              verify: ssl.SSLContext | bool = True, command: list[str] | None = None) -> LiveHub:
    """Start ``hostpulse hub`` (or ``command hub``) and wait until /healthz answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    db = db or f"sqlite://{workdir / 'hub.sqlite3'}"
    log_path = workdir / f"hub-{port}.log"
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        [*(command or [HOSTPULSE]), "hub", "--db", db, "--bind", f"127.0.0.1:{port}", *extra_args],
        stdout=log_file, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
    )
    hub = LiveHub(f"{scheme}://127.0.0.1:{port}", db, workdir, process, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hub exited with {process.returncode}:\n{hub.log()}")
        try:
            if httpx.get(f"{hub.url}/healthz", timeout=1, verify=verify).status_code == 200:
                return hub
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    hub.stop(signal.SIGKILL)
    raise RuntimeError(f"hub did not answer /healthz within 30 s:\n{hub.log()}")
