"""What every issue-18 scenario watches while its hostile client runs: /healthz latency, and an
ordinary agent whose batches must all be stored exactly once."""

from __future__ import annotations

import socket
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Self

import httpx

from tests.support.hub_process import LiveHub, make_batch, now_ms


class Background:
    """A loop on a thread of its own while the ``with`` block runs."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        raise NotImplementedError


class HealthProbe(Background):
    """GET /healthz every ``every_s``; each latency in ms. It probes at least ``min_probes`` times
    (1 s at 20 ms) so that a percentile of a short scenario is one of many probes, not of twelve."""

    def __init__(self, hub: LiveHub, every_s: float = 0.02, min_probes: int = 50) -> None:
        super().__init__()
        self.hub, self.every_s, self.min_probes = hub, every_s, min_probes
        self.ms: list[float] = []

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + 10
        while len(self.ms) < self.min_probes and time.monotonic() < deadline:
            time.sleep(self.every_s)
        super().__exit__(*exc)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                start = time.perf_counter()
                status = client.get(f"{self.hub.url}/healthz").status_code
                self.ms.append((time.perf_counter() - start) * 1000 if status == 200 else 1e9)
                self._stop.wait(self.every_s)

    def summary(self) -> str:
        return (f"/healthz n={len(self.ms)} median={statistics.median(self.ms):.1f} ms "
                f"p95={self.p95():.1f} ms max={max(self.ms):.1f} ms")

    def p95(self) -> float:
        """Inclusive: never above the slowest probe (the default method extrapolates past it)."""
        if len(self.ms) < 2:
            return self.ms[0]
        return statistics.quantiles(self.ms, n=20, method="inclusive")[-1]

    def assert_quick(self, p95_ms: float = 100, max_ms: float = 1000) -> None:
        """Issue 18's bar is /healthz under 100 ms while the hostile client runs; the stalls it found
        held /healthz for 2 to 60 s. On a shared 2-core CI machine one probe of an unstalled hub
        (median 2.7 ms) still reached 140 ms, one run in ten, so the bar holds for 95 % of the probes
        and the slowest may not pass 1 s: a stall of the kind found still fails both."""
        assert len(self.ms) >= 5, self.summary()
        assert self.p95() < p95_ms, self.summary()
        assert max(self.ms) < max_ms, self.summary()
        print(self.summary())


class OrdinaryAgent(Background):
    """Posts one point of one series every ``every_s`` as host ``host``."""

    def __init__(self, hub: LiveHub, host: str = "ordinary-host", every_s: float = 0.1) -> None:
        super().__init__()
        self.hub, self.host, self.every_s = hub, host, every_s
        self.token = hub.token(host)
        self.metric = f"ordinary.{uuid.uuid4().hex[:8]}"
        self.answers: list[int] = []
        self.sent: list[int] = []
        self.backoffs = 0  # 503 queue_full answers, each retried as the agent does

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + 10  # a short scenario still sees a few of its batches
        while len(self.answers) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        super().__exit__(*exc)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                ts = now_ms() - 1000 + len(self.sent)  # distinct even within one millisecond
                body = make_batch(self.host, [{"metric": self.metric, "ts": [ts],
                                               "values": [float(len(self.sent))]}])
                answer, backoffs = post_as_agent(client, self.hub, body, self.token)
                self.backoffs += backoffs
                self.answers.append(answer.status_code)
                self.sent.append(ts)
                self._stop.wait(self.every_s)

    def assert_stored_once(self) -> None:
        """Every batch answered 200 (after any back-pressure retries) and its point is stored
        exactly once."""
        assert len(self.sent) >= 3 and set(self.answers) == {200}, self.answers
        print(f"ordinary agent: {len(self.sent)} batches, {self.backoffs} told to back off")
        (series,) = self.hub.get("/api/v1/series", host=self.host, metric=self.metric).json()["series"]
        points = self.hub.get(f"/api/v1/series/{series['id']}/points",
                              **{"from": min(self.sent) - 1, "to": max(self.sent) + 1,
                                 "max_points": 100_000}).json()["points"]
        assert sorted(p[0] for p in points) == sorted(self.sent)


def post_as_agent(client: httpx.Client, hub: LiveHub, body: dict[str, object], token: str,
                  tries: int = 20) -> tuple[httpx.Response, int]:
    """POST a batch as hostpulse's agent does: a 503 ``queue_full`` (the writer's back-pressure,
    which a flood of big batches from another host can set off) is sent again, same batch_id,
    after its Retry-After; any other answer is final. The answer, and how many retries it took."""
    for backoffs in range(tries):
        answer = client.post(f"{hub.url}/api/v1/ingest", json=body,
                             headers={"Authorization": f"Bearer {token}"})
        if answer.status_code != 503 or answer.json()["error"]["code"] != "queue_full":
            break
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    return answer, backoffs


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def half_open_closed_in(hub: LiveHub, count: int) -> float:
    """Open ``count`` connections that send half their request headers and stop; the seconds
    until the hub has closed every one (without answering)."""
    port = int(hub.url.rsplit(":", 1)[1])
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    for sock in socks:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    start = time.monotonic()
    for sock in socks:
        sock.settimeout(8)
        assert sock.recv(100) == b""  # closed by the hub, nothing answered
        sock.close()
    return time.monotonic() - start
