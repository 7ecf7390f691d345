"""The writer's raw-block inserts on PostgreSQL: COPY against execute_many, and SQLite beside them.

    .venv/bin/python bench/storage_pg_write.py [--batches 3000] [--series 77] [--points 2]

Each mode gets a fresh database and the same batches (one block per series per batch, like an
agent batch of ``--points`` seconds), submitted 128 at a time through the real Writer so group
commits form as they do under load. Prints raw-block rows/s and samples/s per mode.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hostpulse.hub.auth.hosts import ensure_host
from hostpulse.hub.storage import writer as writer_module
from hostpulse.hub.storage.database import close_database, open_database
from hostpulse.hub.storage.registry import SeriesRegistry
from hostpulse.hub.storage.writer import PendingBatch, SeriesBlock, Writer

ADMIN = "postgres://root@127.0.0.1:5432/test"
T0 = 1_764_028_800_000


async def execute_many_blocks(conn, dialect, rows):  # type: ignore[no-untyped-def]
    await conn.execute_many(
        'INSERT INTO raw_blocks (series_id, t_min, t_max, count, ts, "values") '
        "VALUES ($1, $2, $3, $4, $5, $6)",
        rows,
    )


async def run(url: str, batches: int, series: int, points: int) -> tuple[float, int, int]:
    await open_database(url)
    host = await ensure_host("bench-1")
    registry = SeriesRegistry()
    ids = [(await registry.resolve(host.id, host.name, "m.x", {"n": str(i)}, "")).id for i in range(series)]
    rng = np.random.default_rng(0)
    writer = Writer(256)
    writer.start()
    started = time.perf_counter()
    pending = []
    for b in range(batches):
        ts = T0 + (b * points + np.arange(points, dtype=np.int64)) * 1000
        blocks = [SeriesBlock(sid, ts, np.round(rng.uniform(0, 100, points), 2)) for sid in ids]
        pending.append(writer.submit(PendingBatch(host.id, uuid.uuid4().hex, "bench", blocks,
                                                  points * series, int(ts[-1]))))
        if len(pending) >= 128:
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    elapsed = time.perf_counter() - started
    commits = writer.stats.commits
    await writer.stop()
    await close_database()
    return elapsed, batches * series, commits


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--series", type=int, default=77)
    parser.add_argument("--points", type=int, default=2)
    args = parser.parse_args()
    copy_insert = writer_module._insert_blocks
    print(f"{args.batches} batches x {args.series} blocks x {args.points} points")
    print(f"{'mode':28} {'rows/s':>9} {'samples/s':>10} {'commits':>8}")
    for name, insert in (("postgres COPY (the writer)", copy_insert),
                         ("postgres execute_many", execute_many_blocks),
                         ("sqlite execute_many", copy_insert)):
        writer_module._insert_blocks = insert  # type: ignore[assignment]
        if name.startswith("sqlite"):
            url = f"sqlite://{tempfile.mkdtemp(prefix='hp-pgw-')}/w.sqlite3"
            db = None
        else:
            db = f"hp_bench_{uuid.uuid4().hex[:10]}"
            await admin(f'CREATE DATABASE "{db}"')
            url = f"postgres://root@127.0.0.1:5432/{db}"
        try:
            elapsed, rows, commits = await run(url, args.batches, args.series, args.points)
        finally:
            if db:
                await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        print(f"{name:28} {rows / elapsed:9,.0f} {rows * args.points / elapsed:10,.0f} {commits:8}")
    writer_module._insert_blocks = copy_insert


if __name__ == "__main__":
    asyncio.run(main())
