"""The longest time the hub's event loop spends in one piece while it takes the largest batches
the limits allow (issue 18): the hub app in this process, a watcher task that wakes every
millisecond and records how late it woke, and each batch posted through Quart's test client.

    .venv/bin/python bench/loop_stall.py [--repeat 3]

Prints, per batch shape (1 x 1 first: the baseline of an ordinary request), the median over repeats of the longest gap the watcher saw and the
time the request took. The watcher's gap is an upper bound of the longest piece (it includes the
test client's own work on the same loop). Timings on shared machines vary by +-30 % or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hostpulse.hub.settings import Settings
from hostpulse.hub.web.app import create_app
from hostpulse.wire import now_ms

HOSTPULSE = str(Path(sys.executable).with_name("hostpulse"))
SHAPES = [(1, 1), (1, 1000), (50, 1000), (1000, 50), (5000, 10), (5000, 1)]


def body(host: str, series: int, points: int, start: int, tag: str) -> bytes:
    return json.dumps({"version": 1, "batch_id": f"{tag}-{start}", "host": host, "series": [
        {"metric": f"stall.{tag}{i}", "ts": list(range(start, start + points)),
         "values": [float(j % 7) for j in range(points)]} for i in range(series)]}).encode()


async def measure(db: str, token: str, repeat: int) -> None:
    app = create_app(Settings(db=db, rate_limit_per_s=0))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        gaps: list[float] = []
        stop = asyncio.Event()

        async def watch() -> None:
            while not stop.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                gaps.append(time.perf_counter() - before - 0.001)

        watcher = asyncio.create_task(watch())
        # The loopback hub checks Host against its bind address (DNS rebinding).
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Host": app.config.get("SERVER_NAME") or "127.0.0.1:8700"}
        for series, points in SHAPES:
            longest, took = [], []
            for r in range(repeat + 1):  # the first creates the series: reported apart
                payload = body("stall", series, points, now_ms() - 3_600_000 + r * 10_000,
                               f"s{series}x{points}_")
                await asyncio.sleep(0.05)
                gaps.clear()
                started = time.perf_counter()
                answer = await client.post("/api/v1/ingest", data=payload, headers=headers)
                took.append(time.perf_counter() - started)
                await asyncio.sleep(0.05)
                longest.append(max(gaps))
                assert answer.status_code == 200, await answer.get_data()
            print(f"{series:>5} series x {points:>4} points: new series: longest piece "
                  f"{longest[0] * 1000:6.1f} ms, answered in {took[0] * 1000:6.0f} ms; known "
                  f"series, median of {repeat}: longest piece {statistics.median(longest[1:]) * 1000:6.1f} "
                  f"ms, answered in {statistics.median(took[1:]) * 1000:6.0f} ms", flush=True)
        stop.set()
        await watcher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite://{tmp}/hub.sqlite3"
        token = subprocess.run([HOSTPULSE, "token", "create", "stall", "--db", db], check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        asyncio.run(measure(db, token, args.repeat))


if __name__ == "__main__":
    main()
