"""History query latency: GET /api/v1/series/{id}/points over 1 h to 30 days, beside plain SQL.

    .venv/bin/python bench/storage_query.py [--days 30] [--series 8] [--runs 25]

Builds a SQLite database through the storage layer: ``--days`` of 1 s samples for ``--series``
series of one host ending now — the old part written in 10-minute blocks, the last 3 hours in
2-second batches as the agent sends them — compacted as the hub's compactor would, so the open
window is raw blocks. Then a real ``hostpulse hub`` serves it (compactor off, to hold the data
still) and each range is asked ``--runs`` times over HTTP at max_points=1000.

Baseline, same run, same machine: the one queried series as a row per sample in a plain SQLite
table with an index on (series_id, ts), reduced to 1000 buckets by SQL GROUP BY (min, max, avg),
and the same rows fetched and bucketed in numpy.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from storage_day import simulated_day

from hostpulse.hub.auth.hosts import ensure_host
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.compactor import Compactor
from hostpulse.hub.storage.database import close_database, open_database
from hostpulse.hub.storage.registry import SeriesRegistry
from hostpulse.hub.storage.writer import PendingBatch, SeriesBlock, Writer
from tests.support.hub_process import start_hub

DAY_MS = 86_400_000
PICK = ("cpu.percent", "mem.used", "net.rx_bytes_per_s", "load.1m", "disk.used",
        "diskio.write_bytes_per_s", "procs.total", "sensors.temperature")


def series_days(days: int, count: int) -> list[np.ndarray]:
    """``count`` series, ``days`` days of 1 s values each."""
    chosen: list[list[np.ndarray]] = [[] for _ in range(count)]
    for day in range(days):
        sims = simulated_day(seed=day)
        picked = [next(s for s in sims if s.metric == PICK[i % len(PICK)]) for i in range(count)]
        for i, s in enumerate(picked):
            chosen[i].append(s.values)
    return [np.concatenate(parts) for parts in chosen]


async def build(url: str, days: int, count: int, end: int) -> tuple[list[int], np.ndarray, list[np.ndarray]]:
    await open_database(url)
    values = series_days(days, count)
    start = end - days * DAY_MS
    ts = start + np.arange(values[0].size, dtype=np.int64) * 1000
    host = await ensure_host("bench-1")
    registry = SeriesRegistry()
    ids = [(await registry.resolve(host.id, host.name, PICK[i % len(PICK)], {"n": str(i)}, "")).id
           for i in range(count)]
    writer = Writer(256)
    writer.start()
    recent = int(np.searchsorted(ts, end - 3 * 3_600_000))
    compactor = Compactor(Settings(db=url))

    async def write(step: int, lo_end: int, hi_end: int) -> None:
        pending = []
        for lo in range(lo_end, hi_end, step):
            hi = min(lo + step, hi_end)
            blocks = [SeriesBlock(sid, ts[lo:hi], v[lo:hi]) for sid, v in zip(ids, values, strict=True)]
            pending.append(writer.submit(PendingBatch(host.id, f"b{lo}", "bench", blocks,
                                                      (hi - lo) * count, int(ts[hi - 1]))))
            if len(pending) >= 128:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)

    await write(600, 0, recent)
    await compactor.run_once(end)
    await write(2, recent, ts.size)
    await compactor.run_once(end)
    await writer.stop()
    await close_database()
    return ids, ts, values


def baseline_table(path: Path, ts: np.ndarray, values: np.ndarray) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE samples (series_id INT, ts BIGINT, value REAL)")
    conn.execute("CREATE INDEX samples_series_ts ON samples (series_id, ts)")
    conn.executemany("INSERT INTO samples VALUES (1, ?, ?)", zip(ts.tolist(), values.tolist(), strict=True))
    conn.commit()
    return conn


def timed(fn, runs: int) -> tuple[float, float]:
    fn()  # warm the page cache and the hub's code paths
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--series", type=int, default=8)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--max-points", type=int, default=1000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hp-query-"))
    url = f"sqlite://{workdir / 'hub.sqlite3'}"
    end = int(time.time() * 1000)
    started = time.perf_counter()
    ids, ts, values = asyncio.run(build(url, args.days, args.series, end))
    with sqlite3.connect(url.removeprefix("sqlite://")) as probe:
        free = probe.execute("PRAGMA freelist_count").fetchone()[0] * probe.execute(
            "PRAGMA page_size").fetchone()[0]
    size = Path(url.removeprefix("sqlite://")).stat().st_size
    print(f"built {args.days} d x {args.series} series ({ts.size * args.series:,} samples) in "
          f"{time.perf_counter() - started:.0f} s; database {(size - free) / 1e6:.1f} MB in use "
          f"(+{free / 1e6:.0f} MB free pages left by compaction)")
    base = baseline_table(workdir / "baseline.sqlite3", ts, values[0])
    hub = start_hub(workdir / "hub", db=url, env={"HOSTPULSE_COMPACT_INTERVAL_S": "0"})
    client = httpx.Client(base_url=hub.url, timeout=60)
    mp = args.max_points
    print(f"\n{'range':>6} {'tier':>4} {'points':>6} | {'hub HTTP median':>15} {'p95':>7} | "
          f"{'SQL GROUP BY':>12} {'SQL rows+numpy':>14}   (ms)")
    try:
        for label, span in (("1h", 3_600_000), ("24h", DAY_MS), ("7d", 7 * DAY_MS), ("30d", 30 * DAY_MS)):
            if span > args.days * DAY_MS:
                continue
            lo, hi = end - span, end
            params = {"from": lo, "to": hi, "max_points": mp}
            answer = client.get(f"/api/v1/series/{ids[0]}/points", params=params).json()
            hub_med, hub_p95 = timed(
                lambda p=params: client.get(f"/api/v1/series/{ids[0]}/points", params=p).raise_for_status(),
                args.runs)
            width = -(-(hi - lo + 1) // mp)

            def group_by(lo: int = lo, hi: int = hi, width: int = width) -> None:
                base.execute(
                    "SELECT (ts - ?) / ?, MIN(value), MAX(value), AVG(value) FROM samples "
                    "WHERE series_id = 1 AND ts BETWEEN ? AND ? GROUP BY 1", (lo, width, lo, hi)
                ).fetchall()

            def rows_numpy(lo: int = lo, hi: int = hi, width: int = width) -> None:
                rows = base.execute("SELECT ts, value FROM samples WHERE series_id = 1 AND ts BETWEEN ? AND ?",
                                    (lo, hi)).fetchall()
                arr = np.array(rows, dtype=np.float64).reshape(-1, 2)
                index = ((arr[:, 0] - lo) // width).astype(np.int64)
                np.maximum.reduceat(arr[:, 1], np.flatnonzero(np.diff(index, prepend=-1)))

            sql_med, _ = timed(group_by, max(3, args.runs // 5))
            np_med, _ = timed(rows_numpy, max(3, args.runs // 5))
            print(f"{label:>6} {answer['tier']:>4} {len(answer['points']):>6} | {hub_med:15.1f} {hub_p95:7.1f} | "
                  f"{sql_med:12.1f} {np_med:14.1f}")
    finally:
        client.close()
        hub.stop()
        base.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
