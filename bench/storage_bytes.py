"""Database bytes per sample for a day of one host's 1 s metrics, after compaction.

    .venv/bin/python bench/storage_bytes.py [--hours 24] [--batch-seconds 2] [--postgres]

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
import uuid
from pathlib import Path

import asyncpg
import numpy as np

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from storage_day import simulated_day
from tortoise.exceptions import OperationalError

from hostpulse.agent.deliver.batch import new_batch_id
from hostpulse.hub.auth.hosts import ensure_host
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.compactor import Compactor
from hostpulse.hub.storage.database import close_database, connection, open_database
from hostpulse.hub.storage.registry import SeriesRegistry
from hostpulse.hub.storage.writer import PendingBatch, SeriesBlock, Writer

PG_ADMIN = "postgres://root@127.0.0.1:5432/test"
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


async def table_bytes(pg: bool) -> dict[str, tuple[int, int]]:
    """Bytes (and unused bytes) per table and index: SQLite's dbstat when the library has it;
    on PostgreSQL pg_total_relation_size (heap, TOAST and indexes) per table."""
    if pg:
        rows = await connection().execute_query_dict(
            "SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
            "AND c.relkind = 'r' ORDER BY bytes DESC"
        )
        return {r["name"]: (int(r["bytes"]), 0) for r in rows}
    try:
        rows = await connection().execute_query_dict(
            "SELECT name, SUM(pgsize) AS bytes, SUM(unused) AS unused FROM dbstat "
            "GROUP BY name ORDER BY bytes DESC"
        )
    except OperationalError:  # dbstat is a compile-time option
        return {}
    return {r["name"]: (int(r["bytes"]), int(r["unused"])) for r in rows}


async def vacuum(pg: bool) -> None:
    if pg:
        await connection().execute_script("VACUUM FULL")
    else:
        await connection().execute_script("VACUUM")
        await connection().execute_script("PRAGMA wal_checkpoint(TRUNCATE)")


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--batch-seconds", type=int, default=2)
    parser.add_argument("--postgres", action="store_true",
                        help=f"measure a fresh database on {PG_ADMIN.rsplit('/', 1)[0]} instead of SQLite")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="hp-bytes-")
    path = Path(workdir) / "day.sqlite3"
    pg_name = f"hp_bytes_{uuid.uuid4().hex[:10]}"
    if args.postgres:
        await admin(f'CREATE DATABASE "{pg_name}"')
        url = f"{PG_ADMIN.rsplit('/', 1)[0]}/{pg_name}"
    else:
        url = f"sqlite://{path}"
    try:
        await open_database(url)
        started = time.perf_counter()
        samples = await ingest(args.hours, args.batch_seconds)
        ingest_s = time.perf_counter() - started
        await vacuum(args.postgres)
        raw_tables = await table_bytes(args.postgres)
        raw_bytes = sum(b for b, _ in raw_tables.values()) if args.postgres else path.stat().st_size
        started = time.perf_counter()
        report = await Compactor(Settings(db=url)).run_once(
            T0 + int(args.hours * 3_600_000) + 3 * 3_600_000
        )
        compact_s = time.perf_counter() - started
        await vacuum(args.postgres)
        tables = await table_bytes(args.postgres)
        await close_database()
        size = sum(b for b, _ in tables.values()) if args.postgres else path.stat().st_size
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.postgres:
            await admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    backend = "PostgreSQL (sum of pg_total_relation_size)" if args.postgres else "SQLite file"
    print(f"{samples:,} samples ({args.hours:g} h x {samples // int(args.hours * 3600)} series), "
          f"one batch per {args.batch_seconds} s, {backend}; ingest {ingest_s:.1f} s, "
          f"compaction {compact_s:.1f} s ({report.chunks if report else 0} chunks)")
    print(f"{'storage':44} {'bytes':>12} {'B/sample':>9}")
    # Not rerun here: the cost of one row per sample on SQLite, measured before the chunk codec.
    print(f"{'row per sample (SQLite, measured before the codec)':44} {'':>12} {41.0:9.2f}")
    print(f"{'raw blocks, before compaction (VACUUMed)':44} {raw_bytes:12,} {raw_bytes / samples:9.3f}")
    print(f"{'after compaction + VACUUM (the figure)':44} {size:12,} {size / samples:9.3f}")
    print("\nafter compaction, by table" + ("" if args.postgres else "/index (dbstat)") + ":")
    for name, (nbytes, unused) in tables.items():
        if nbytes >= 50_000:
            share = f"  ({unused / nbytes:.0%} unused)" if not args.postgres else ""
            print(f"  {name:42} {nbytes:12,} {nbytes / samples:9.3f}{share}")


if __name__ == "__main__":
    asyncio.run(main())
