"""Database bytes per sample for a day of one host's 1 s metrics, after compaction.

    .venv/bin/python bench/storage_bytes.py [--hours 24] [--batch-seconds 2] [--db sqlite://PATH]

Ingests a simulated day (bench/storage_day.py, ~77 series) through the storage layer the way the
hub does — hosts, series registry, the group-commit Writer, one batch per ``--batch-seconds`` like
the agent's default ``batch_max_age`` — then runs the compactor as if the day were over, VACUUMs,
and divides the file size by the number of samples. Printed beside the same data stored raw
(before compaction) and the 41 B/sample of a row per sample.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from storage_day import simulated_day
from tortoise.exceptions import OperationalError

from agent.batch import new_batch_id
from hub.settings import Settings
from hub.storage.compactor import Compactor
from hub.storage.database import close_database, connection, open_database
from hub.storage.registry import SeriesRegistry
from hub.storage.writer import PendingBatch, SeriesBlock, Writer
from hub.tokens import ensure_host

T0 = 1_764_028_800_000  # a UTC midnight: the day is 12 whole 2-hour windows


async def ingest(hours: float, batch_seconds: int) -> int:
    seconds = int(hours * 3600)
    day = simulated_day(seconds=seconds)
    host = await ensure_host("bench-1")
    registry = SeriesRegistry()
    ids = [
        (await registry.resolve(host.id, host.name, s.metric, s.labels, s.unit)).id for s in day
    ]
    writer = Writer(256)
    writer.start()
    ts_all = T0 + np.arange(seconds, dtype=np.int64) * 1000
    pending = []
    for lo in range(0, seconds, batch_seconds):
        hi = min(lo + batch_seconds, seconds)
        blocks = [SeriesBlock(sid, ts_all[lo:hi], s.values[lo:hi]) for sid, s in zip(ids, day, strict=True)]
        # The agent's own ids (26-character ULIDs): the batch keys' share depends on their length.
        batch = PendingBatch(host.id, new_batch_id(int(ts_all[lo])), "bench", blocks,
                             (hi - lo) * len(day), int(ts_all[hi - 1]) + 50)
        pending.append(writer.submit(batch))
        if len(pending) >= 128:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    await writer.stop()
    return seconds * len(day)


async def table_bytes() -> dict[str, int]:
    """Bytes per table and index from SQLite's dbstat, when the library has it."""
    try:
        rows = await connection().execute_query_dict(
            "SELECT name, SUM(pgsize) AS bytes, SUM(unused) AS unused FROM dbstat "
            "GROUP BY name ORDER BY bytes DESC"
        )
    except OperationalError:  # dbstat is a compile-time option
        return {}
    return {r["name"]: (int(r["bytes"]), int(r["unused"])) for r in rows}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--batch-seconds", type=int, default=2)
    parser.add_argument("--db", help="sqlite://PATH (default: a temp file)")
    parser.add_argument("--page-size", type=int, help="SQLite page size of the new database")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="hp-bytes-")
    path = Path(args.db.removeprefix("sqlite://")) if args.db else Path(workdir) / "day.sqlite3"
    url = f"sqlite://{path}" + (f"?page_size={args.page_size}" if args.page_size else "")
    await open_database(url)
    started = time.perf_counter()
    samples = await ingest(args.hours, args.batch_seconds)
    ingest_s = time.perf_counter() - started
    await connection().execute_script("VACUUM")
    raw_bytes = path.stat().st_size
    raw_tables = await table_bytes()
    settings = Settings(db=url)
    started = time.perf_counter()
    report = await Compactor(settings).run_once(T0 + int(args.hours * 3_600_000) + 3 * 3_600_000)
    compact_s = time.perf_counter() - started
    await connection().execute_script("VACUUM")
    await connection().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")
    tables = await table_bytes()
    await close_database()
    size = path.stat().st_size
    if not args.db:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{samples:,} samples ({args.hours:g} h x {samples // int(args.hours * 3600)} series), "
          f"one batch per {args.batch_seconds} s; ingest {ingest_s:.1f} s, compaction {compact_s:.1f} s "
          f"({report.chunks if report else 0} chunks)")
    print(f"{'storage':44} {'bytes':>12} {'B/sample':>9}")
    print(f"{'row per sample (STACK-NOTES, measured)':44} {'':>12} {41.0:9.2f}")
    print(f"{'raw blocks, before compaction (VACUUMed)':44} {raw_bytes:12,} {raw_bytes / samples:9.3f}")
    print(f"{'after compaction + VACUUM (the figure)':44} {size:12,} {size / samples:9.3f}")
    if tables:
        print("\nafter compaction, by table/index (dbstat):")
        for name, (nbytes, unused) in tables.items():
            print(f"  {name:42} {nbytes:12,} {nbytes / samples:9.3f}  ({unused / max(nbytes, 1):.0%} unused)")
    if raw_tables:
        print(f"  (before: raw_blocks {raw_tables.get('raw_blocks', (0, 0))[0] / samples:.3f} B/sample)")


if __name__ == "__main__":
    asyncio.run(main())
