"""What live fan-out costs the hub per frame and per WebSocket session, permessage-deflate on and off.

    .venv/bin/python bench/ws_fanout.py                                # 20 sessions, 50 series a frame
    .venv/bin/python bench/ws_fanout.py --series 1000 --rate 10 --sessions 40   # issue 18's slow-consumer frames

Two ``hostpulse hub`` processes on SQLite run at once, one with ``ws_compression`` on and one off.
Each round visits both hubs, in alternating order, and runs on each the same paced ingest
(``--rate`` batches a second of ``--series`` series x 1 point for ``--seconds``; each batch is one
``points`` frame) first with no session, then with each count of ``--sessions`` sessions
subscribed to everything. The sessions run in a child process on websockets' client, which offers
permessage-deflate as browsers do, and take every frame as it comes; each frame's latency is its
arrival minus the hub's ``received_at``. /healthz is probed every 20 ms meanwhile
(tests/hostile/probe.py's HealthProbe).

Printed per hub, the median over rounds of: the hub's CPU per frame with no session; its CPU per
frame per session, ((CPU per frame with n sessions) - (with none)) / n; the live latency p50, p95
and p99 of all sessions' frames; /healthz p95 with and without sessions; and the ratio of the two
hubs. The load average comes first and last: on a shared 2-core machine compare the hubs of one
run, never runs of different moments.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from multihub import watch

from tests.hostile.probe import HealthProbe
from tests.support.hub_process import LiveHub, now_ms, start_hub

HUBS = {"ws_compression on": "on", "ws_compression off": "off"}
HOST = "fanout"


def bodies(series: int, count: int) -> list[bytes]:
    """``count`` batches of ``series`` series x 1 point, encoded before anything is timed."""
    start = now_ms() - 60_000
    return [json.dumps({"version": 1, "batch_id": uuid.uuid4().hex, "host": HOST,
                        "agent": {"version": "bench"},
                        "series": [{"metric": f"fan.s{s}", "ts": [start + i], "values": [float(i)]}
                                   for s in range(series)]}).encode()
            for i in range(count)]


def auth(hub: LiveHub) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.token(HOST)}", "Content-Type": "application/json"}


async def paced_ingest(hub: LiveHub, batches: list[bytes], rate: float) -> int:
    """Post ``batches`` at ``rate`` a second, each on schedule whatever the previous answered;
    the number answered 200."""
    headers = auth(hub)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=32)) as client:
        started = time.monotonic()

        async def one(i: int, body: bytes) -> bool:
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            answer = await client.post(f"{hub.url}/api/v1/ingest", content=body, headers=headers)
            return answer.status_code == 200

        return sum(await asyncio.gather(*(one(i, b) for i, b in enumerate(batches))))


def phase(hub: LiveHub, sessions: int, batches: list[bytes], rate: float) -> dict[str, Any]:
    """One paced ingest with ``sessions`` sessions watching: hub CPU ms per frame, latencies.
    The CPU is counted until 3 s after the last post, by when the sessions have their frames."""
    watcher, out = None, None
    seconds = len(batches) / rate + 3
    if sessions:
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        watcher = ctx.Process(target=watch, args=(hub.ws_url, [], seconds, out, sessions),
                              daemon=True)
        watcher.start()
        assert out.get(timeout=60) == "subscribed"
    process = psutil.Process(hub.process.pid)
    started, cpu = time.monotonic(), process.cpu_times()
    with HealthProbe(hub) as probe:
        acked = asyncio.run(paced_ingest(hub, batches, rate))
    got = out.get(timeout=120) if out is not None else None  # the sessions end at `seconds`
    time.sleep(max(0.0, started + seconds - time.monotonic()))
    after = process.cpu_times()
    spent_ms = ((after.user - cpu.user) + (after.system - cpu.system)) * 1000
    result: dict[str, Any] = {"cpu_ms_per_frame": spent_ms / max(acked, 1),
                              "healthz_p95": probe.p95(), "acked": acked}
    if watcher is not None and got is not None:
        watcher.join(10)
        latencies = np.asarray(got["local"])
        result |= {f"p{q}": float(np.percentile(latencies, q)) for q in (50, 95, 99)}
        result["frames_min"] = min(got["per_client_frames"])
    return result


def handshake_and_frame(hub: LiveHub, body: bytes) -> tuple[str, int]:
    """The Sec-WebSocket-Extensions the hub answers a client offering permessage-deflate, and the
    length of the points frame of ``body``."""
    import websockets

    async def ask() -> tuple[str, int]:
        async with websockets.connect(hub.ws_url, max_size=None) as ws:
            assert ws.response is not None
            await ws.send('{"type": "subscribe"}')
            await ws.recv()
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.post(f"{hub.url}/api/v1/ingest", content=body,
                                           headers=auth(hub))
            assert answer.status_code == 200, answer.text
            while '"points"' not in (frame := str(await asyncio.wait_for(ws.recv(), 30)))[:20]:
                pass
            return ws.response.headers.get("Sec-WebSocket-Extensions", "none"), len(frame)

    return asyncio.run(ask())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0, help="of ingest per phase")
    parser.add_argument("--rate", type=float, default=50.0, help="batches (frames) a second")
    parser.add_argument("--series", type=int, default=50, help="series x 1 point per batch")
    parser.add_argument("--sessions", default="20",
                        help="comma-separated session counts, each a phase after the one without")
    args = parser.parse_args()
    counts = [int(n) for n in args.sessions.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f} at start; {args.rounds} rounds, "
          f"{args.rate:g} frames/s of {args.series} series for {args.seconds:g} s a phase")
    work = Path(tempfile.mkdtemp(prefix="hp-ws-fanout-"))
    hubs = {name: start_hub(work / value, env={"HOSTPULSE_WS_COMPRESSION": value,
                                               "HOSTPULSE_RATE_LIMIT_PER_S": "0"})
            for name, value in HUBS.items()}
    try:
        for name, hub in hubs.items():
            phase(hub, 0, bodies(args.series, 3), args.rate)  # series created, nothing timed
            agreed, size = handshake_and_frame(hub, bodies(args.series, 1)[0])
            print(f"{name}: extension agreed: {agreed}; a frame is {size:,} bytes of JSON")
        runs: dict[str, dict[int, list[dict[str, Any]]]] = {
            name: {n: [] for n in [0, *counts]} for name in hubs}
        for r in range(args.rounds):
            for name in list(hubs) if r % 2 == 0 else list(reversed(hubs)):
                for n in [0, *counts]:
                    batches = bodies(args.series, int(args.rate * args.seconds))
                    runs[name][n].append(phase(hubs[name], n, batches, args.rate))
        report(runs, counts)
    finally:
        for hub in hubs.values():
            hub.stop()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


def report(runs: dict[str, dict[int, list[dict[str, Any]]]], counts: list[int]) -> None:
    def med(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(row[key] for row in rows)

    per_session: dict[str, dict[int, float]] = {}
    for name, by_count in runs.items():
        base = by_count[0]
        print(f"{name}: no session: hub CPU {med(base, 'cpu_ms_per_frame'):.3f} ms a frame, "
              f"/healthz p95 {med(base, 'healthz_p95'):.1f} ms")
        per_session[name] = {}
        for n in counts:
            rows = by_count[n]
            # Paired by round: a session's cost is measured against the same round's baseline.
            extra = [(row["cpu_ms_per_frame"] - b["cpu_ms_per_frame"]) * 1000 / n
                     for row, b in zip(rows, base, strict=True)]
            per_session[name][n] = statistics.median(extra)
            print(f"  {n:3} sessions: hub CPU {per_session[name][n]:7.1f} us a frame a session; "
                  f"live p50 {med(rows, 'p50'):7.1f}  p95 {med(rows, 'p95'):7.1f}  "
                  f"p99 {med(rows, 'p99'):7.1f} ms; /healthz p95 {med(rows, 'healthz_p95'):6.1f} ms; "
                  f"fewest frames a session got {min(row['frames_min'] for row in rows)} "
                  f"of {min(row['acked'] for row in rows)}")
    on, off = (per_session[name] for name in HUBS)
    for n in counts:
        print(f"ratio off/on at {n} sessions: hub CPU a frame a session {off[n] / on[n]:.2f}")


if __name__ == "__main__":
    main()
