"""Two hubs on one PostgreSQL sharing the live view through Redis, under a fleet of simulated agents.

    .venv/bin/python bench/multihub.py                 # 500 agents × 50 series at 1 s, 5 minutes
    .venv/bin/python bench/multihub.py --duration 60   # the same, shorter
    .venv/bin/python bench/multihub.py --ws-clients 20 --duration 60   # the live path, 20 dashboards

What it does, all on loopback:

1. makes a fresh PostgreSQL database (dropped afterwards unless ``--keep``) and a private Redis key
   prefix, starts two ``hostpulse hub --db postgres://… --redis redis://…`` processes (A and B) and
   makes a token per agent with ``hostpulse token create``;
2. sends one small batch per agent (series creation is not timed);
3. starts ``--ws-clients`` WebSocket sessions (1 by default) on hub B in their own process (so the
   load generator's event loop does not delay them), each subscribed to every host, and records
   for each ``points`` frame the time from the hub's ``received_at`` to its arrival at each
   session — frames of hosts ingested on hub A crossed Redis;
4. runs bench/loadgen.py: agents split between A and B (agent i sticks to hub i mod 2), each
   posting its series every ``--interval`` s for ``--duration`` s;
5. stops the hubs and counts what PostgreSQL holds against what was acknowledged: zero loss and
   zero duplicates means equal sample counts and one batch key per acknowledged batch.

Prints one JSON document; exit status 1 if the count check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from loadgen import (
    LoadConfig,
    count_check,
    create_tokens,
    create_tokens_inproc,
    host_names,
    run_load,
)

from tests.support.hub_process import LiveHub, start_hub

PG_ADMIN = "postgresql://root@127.0.0.1:5432/test"
#: `hostpulse` with hostpulse.hub.web.server.run_hub's tuning undone: asyncio's loop, the default GC (--plain-hub).
PLAIN_HUB = (
    "import asyncio, hostpulse.hub.web.server as s; "
    "s.run_hub = lambda settings: asyncio.run(s.serve_hub(settings)); "
    "from hostpulse.hub.commands.main import main; main()"
)
REDIS = "redis://127.0.0.1:6379/0"


#: A points frame's head, read without parsing the whole frame: 20 clients of a 500-agent
#: fleet get 10,000 frames a second, and the client process shares the machine with the hubs.
FRAME_HEAD = re.compile(rb'"type":\s*"points".*?"host":\s*"([^"]*)".*?"received_at":\s*(\d+)')


def watch(ws_url: str, remote_hosts: list[str], seconds: float, out: mp.Queue, clients: int = 1) -> None:  # type: ignore[type-arg]
    """Child process: ``clients`` browser-like WebSocket sessions subscribed to every host; puts
    their latencies (arrival minus the hub's receipt, ms) on ``out`` at the end."""
    import websockets

    remote = {h.encode() for h in remote_hosts}

    async def one(lat: dict[str, list[float]], ready: asyncio.Event, go: asyncio.Event) -> None:
        async with websockets.connect(ws_url, max_size=None) as ws:
            await ws.send('{"type": "subscribe", "hosts": ["*"]}')
            ready.set()
            await go.wait()
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), left)
                except TimeoutError:
                    break
                arrived = time.time() * 1000
                head = FRAME_HEAD.match(raw, 0, 400) or FRAME_HEAD.search(raw, 0, 400)
                if head is not None:
                    side = "remote" if head.group(1) in remote else "local"
                    lat[side].append(arrived - int(head.group(2)))

    async def run() -> dict[str, Any]:
        lats = [{"remote": [], "local": []} for _ in range(clients)]
        readies = [asyncio.Event() for _ in range(clients)]
        go = asyncio.Event()
        tasks = [asyncio.create_task(one(lat, r, go)) for lat, r in zip(lats, readies)]
        for ready in readies:
            await ready.wait()
        out.put("subscribed")
        go.set()
        await asyncio.gather(*tasks)
        return {
            side: [v for lat in lats for v in lat[side]] for side in ("remote", "local")
        } | {"per_client_frames": [len(lat["remote"]) + len(lat["local"]) for lat in lats]}

    out.put(asyncio.run(run()))


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    arr = np.asarray(values)
    return {
        "n": int(arr.size),
        "p50": round(float(np.percentile(arr, 50)), 1),
        "p95": round(float(np.percentile(arr, 95)), 1),
        "p99": round(float(np.percentile(arr, 99)), 1),
        "max": round(float(arr.max()), 1),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc (Linux); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent on anything but idle and iowait so far."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CpuBudget:
    """Where the machine's cores went during the run: each hub, the load generator (this
    process), the WebSocket client, PostgreSQL and Redis (all their processes: other users of
    the shared servers count too) and the rest of the machine. On 2 shared cores the latency
    figures mean little without it: a run is only as quiet as "rest of the machine" says."""

    def __init__(self, hubs: dict[str, int], watcher: int) -> None:
        self.groups: dict[str, list[int]] = {
            **{name: [pid] for name, pid in hubs.items()},
            "load generator": [os.getpid()],
            "websocket client": [watcher],
            "postgresql": _pids("postgres"),
            "redis": _pids("redis-server"),
        }
        self.before = self._sample()
        self.started = time.monotonic()

    def _sample(self) -> dict[str, float]:
        sample = {name: sum(map(cpu_seconds, pids)) for name, pids in self.groups.items()}
        sample["machine"] = machine_busy_seconds()
        return sample

    def percent_of_one_core(self) -> dict[str, float]:
        # Servers start processes during a run (PostgreSQL's autovacuum workers): count the whole
        # CPU of those that appeared, so it does not land in "rest of the machine".
        for name, process in (("postgresql", "postgres"), ("redis", "redis-server")):
            self.groups[name] += [pid for pid in _pids(process) if pid not in self.groups[name]]
        after, wall = self._sample(), time.monotonic() - self.started
        used = {name: after[name] - self.before[name] for name in after}
        used["rest of the machine"] = used.pop("machine") - sum(used.values())
        return {name: round(100 * seconds / wall, 1) for name, seconds in used.items()}


def _pids(name: str) -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == name]


async def make_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_database(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def drop_redis_keys(prefix: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


async def stored_counts(name: str, host_prefix: str) -> dict[str, int]:
    import asyncpg

    db = await asyncpg.connect(f"postgresql://root@127.0.0.1:5432/{name}")
    try:
        tables = {r["tablename"] for r in await db.fetch("SELECT tablename FROM pg_tables")}
        samples = 0
        for table in ("raw_blocks", "chunks"):
            if table in tables:
                samples += await db.fetchval(
                    f"SELECT COALESCE(SUM(t.count), 0) FROM {table} t "
                    "JOIN series s ON s.id = t.series_id JOIN hosts h ON h.id = s.host_id "
                    "WHERE h.name LIKE $1",
                    f"{host_prefix}-%",
                )
        row = await db.fetchrow(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT (b.host_id, b.batch_id)) AS distinct_n "
            "FROM ingested_batches b JOIN hosts h ON h.id = b.host_id WHERE h.name LIKE $1",
            f"{host_prefix}-%",
        )
        size = await db.fetchval("SELECT pg_database_size(current_database())")
        raw_bytes = await db.fetchval("SELECT pg_total_relation_size('raw_blocks')")
        raw_samples = await db.fetchval("SELECT COALESCE(SUM(count), 0) FROM raw_blocks")
    finally:
        await db.close()
    return {
        "samples": int(samples),
        "batches": int(row["n"]),
        "distinct_batches": int(row["distinct_n"]),
        "database_bytes": int(size),
        "raw_blocks_bytes": int(raw_bytes),
        "raw_blocks_samples": int(raw_samples),
    }


SAMPLE_TABLES = (
    "raw_blocks",
    "chunks",
    "rollups_1m",
    "rollups_1h",
    "ingested_batches",
    "anomalies",
)


async def compact_all(db_url: str) -> tuple[float, int]:
    """Fold every window with the hub's own compactor, the open one too (the hubs are stopped)."""
    from hostpulse.hub.settings import Settings
    from hostpulse.hub.storage.compactor import Compactor
    from hostpulse.hub.storage.database import close_database, open_database

    await open_database(db_url)
    try:
        compactor = Compactor(Settings(db=db_url))
        now = int(time.time() * 1000)
        started = time.perf_counter()
        report = await compactor.compact(now + compactor.window_ms, now)
        return time.perf_counter() - started, report.chunks
    finally:
        await close_database()


def sqlite_compacted_bytes(path: Path) -> dict[str, Any]:
    """After compaction: VACUUM, then the pages of every table that grows with samples and of
    its indexes (SQLite's dbstat)."""
    seconds, chunks = asyncio.run(compact_all(f"sqlite://{path}"))
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
        owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_master"))
        sizes = dict.fromkeys(SAMPLE_TABLES, 0)
        for name, pages in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            if table in sizes:
                sizes[table] += int(pages)
        samples = db.execute(
            "SELECT (SELECT COALESCE(SUM(count), 0) FROM chunks)"
            " + (SELECT COALESCE(SUM(count), 0) FROM raw_blocks)"
        ).fetchone()[0]
    return {
        "compaction_s": round(seconds, 1),
        "chunks_written": chunks,
        "samples": int(samples),
        "table_bytes": sizes,
        "bytes_per_sample": round(sum(sizes.values()) / max(samples, 1), 2),
    }


def sqlite_counts(path: Path, host_prefix: str) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        samples = 0
        for table in ("raw_blocks", "chunks"):
            samples += db.execute(
                f"SELECT COALESCE(SUM(t.count), 0) FROM {table} t "
                "JOIN series s ON s.id = t.series_id JOIN hosts h ON h.id = s.host_id "
                "WHERE h.name LIKE ?",
                (f"{host_prefix}-%",),
            ).fetchone()[0]
        n, distinct = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT b.host_id || '/' || b.batch_id) "
            "FROM ingested_batches b JOIN hosts h ON h.id = b.host_id WHERE h.name LIKE ?",
            (f"{host_prefix}-%",),
        ).fetchone()
        raw_samples = db.execute("SELECT COALESCE(SUM(count), 0) FROM raw_blocks").fetchone()[0]
        raw_bytes = db.execute(
            "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN "
            "(SELECT name FROM sqlite_master WHERE tbl_name = 'raw_blocks')"
        ).fetchone()[0]
    return {
        "samples": int(samples),
        "batches": int(n),
        "distinct_batches": int(distinct),
        "database_bytes": path.stat().st_size,
        "raw_blocks_bytes": int(raw_bytes),
        "raw_blocks_samples": int(raw_samples),
    }


async def compacted_bytes(pg_url: str, name: str) -> dict[str, Any]:
    """After compaction: VACUUM FULL, and the size of every table that grows with samples,
    indexes and TOAST included."""
    import asyncpg

    seconds, chunks = await compact_all(pg_url)
    db = await asyncpg.connect(f"postgresql://root@127.0.0.1:5432/{name}")
    try:
        tables = {r["tablename"] for r in await db.fetch("SELECT tablename FROM pg_tables")}
        present = [t for t in SAMPLE_TABLES if t in tables]
        for table in present:
            await db.execute(f"VACUUM FULL {table}")
        sizes = {
            t: int(await db.fetchval(f"SELECT pg_total_relation_size('{t}')")) for t in present
        }
        samples = int(
            await db.fetchval(
                "SELECT (SELECT COALESCE(SUM(count), 0) FROM chunks)"
                " + (SELECT COALESCE(SUM(count), 0) FROM raw_blocks)"
            )
        )
    finally:
        await db.close()
    return {
        "compaction_s": round(seconds, 1),
        "chunks_written": chunks,
        "samples": samples,
        "table_bytes": sizes,
        "bytes_per_sample": round(sum(sizes.values()) / max(samples, 1), 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--series", type=int, default=50, help="series per agent")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between an agent's batches")
    p.add_argument("--points", type=int, default=1, help="points per series per batch")
    p.add_argument(
        "--duration", type=float, default=300, help="seconds of load (default 5 minutes)"
    )
    p.add_argument(
        "--ws-clients",
        type=int,
        default=1,
        help="dashboard sessions on hub B subscribed to every host (one process; all measured)",
    )
    p.add_argument(
        "--ws-compression",
        choices=["on", "off"],
        default="off",
        help="the hubs' ws_compression: whether the sessions' permessage-deflate offer is taken "
        "(bench/ws_fanout.py weighs it side by side)",
    )
    p.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    p.add_argument(
        "--sqlite",
        action="store_true",
        help="the baseline: one hub on SQLite, no Redis, the same fleet (the WebSocket client on it)",
    )
    p.add_argument(
        "--no-compact", action="store_true", help="skip compacting and weighing PostgreSQL after"
    )
    p.add_argument(
        "--plain-hub",
        choices=["a", "b"],
        help="run this hub on asyncio's own loop with the default GC, to compare with the other "
        "(hub/server.py's run_hub); B also serves the WebSocket client, so run both ways",
    )
    p.add_argument(
        "--cli-tokens",
        action="store_true",
        help="one `hostpulse token create` per agent (minutes for 500) instead of the same "
        "function in this process",
    )
    args = p.parse_args(argv)

    run = uuid.uuid4().hex[:10]
    db_name, prefix = f"hp_bench_{run}", f"hp-bench-{run}"
    pg_url, redis_url = f"postgres://root@127.0.0.1:5432/{db_name}", f"{REDIS}?prefix={prefix}"
    if not args.sqlite:
        asyncio.run(make_database(db_name))
    hubs: list[LiveHub] = []
    with tempfile.TemporaryDirectory(prefix="hp-multihub-") as tmp:
        sqlite_path = Path(tmp) / "a" / "hub.sqlite3"
        db_url = f"sqlite://{sqlite_path}" if args.sqlite else pg_url
        try:
            for name in ("a",) if args.sqlite else ("a", "b"):
                extra = () if args.sqlite else ("--redis", redis_url)
                plain = args.plain_hub == name
                hubs.append(
                    start_hub(
                        Path(tmp) / name,
                        db=db_url,
                        extra_args=extra,
                        command=[sys.executable, "-c", PLAIN_HUB] if plain else None,
                        env={"HOSTPULSE_WS_COMPRESSION": args.ws_compression},
                    )
                )
            b = hubs[-1]  # the WebSocket client's hub (the only one with --sqlite)
            base = LoadConfig(
                hubs=[h.url for h in hubs],
                agents=args.agents,
                series=args.series,
                points=args.points,
                interval_s=args.interval,
                duration_s=args.duration,
                drain_s=60,
            )
            hosts = host_names(base)
            made = time.monotonic()
            make = create_tokens if args.cli_tokens else create_tokens_inproc
            tokens = make(db_url, hosts)
            token_s = time.monotonic() - made
            warmup = asyncio.run(
                run_load(replace(base, points=1, interval_s=0, max_batches=1), tokens)
            )

            ctx = mp.get_context("spawn")
            out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
            on_a = [] if args.sqlite else hosts[0::2]  # agent i → hub i mod 2, as in loadgen
            watcher = ctx.Process(
                target=watch,
                args=(b.ws_url, on_a, args.duration + 15, out, args.ws_clients),
                daemon=True,
            )
            watcher.start()
            assert out.get(timeout=30) == "subscribed"
            time.sleep(1.0)  # hub A refreshes who watches every 0.5 s
            load_before = os.getloadavg()[0]
            budget = CpuBudget(
                {f"hub {name}": h.process.pid for name, h in zip("AB", hubs)}, watcher.pid
            )
            load = asyncio.run(run_load(base, tokens))
            cpu = budget.percent_of_one_core()
            latencies = out.get(timeout=args.duration + 60)
            watcher.join(10)
        finally:
            for hub in hubs:
                hub.stop()
        if args.sqlite:
            counts = sqlite_counts(sqlite_path, base.host_prefix)
            compacted = None if args.no_compact else sqlite_compacted_bytes(sqlite_path)
    if not args.sqlite:
        counts = asyncio.run(stored_counts(db_name, base.host_prefix))
        compacted = None if args.no_compact else asyncio.run(compacted_bytes(pg_url, db_name))
        if not args.keep:
            asyncio.run(drop_database(db_name))
        asyncio.run(drop_redis_keys(prefix))

    acked = warmup["samples_acked"] + load["samples_acked"]
    acked_batches = warmup["batches"]["acked"] + load["batches"]["acked"]
    unacked = warmup["batches"]["unacked"] + load["batches"]["unacked"]
    offered = args.agents * args.series * args.points / args.interval
    result = {
        "bench": "multihub",
        "setup": ("1 hub on SQLite" if args.sqlite else "2 hubs + PostgreSQL + Redis")
        + " on loopback, load generator and WebSocket client on the same machine",
        "agents": args.agents,
        "series_per_agent": args.series,
        "interval_s": args.interval,
        "duration_s": args.duration,
        "offered_samples_per_s": offered,
        "token_create_s": round(token_s, 1),
        "load": {k: v for k, v in load.items() if k != "config"},
        "ingest_latency_ms": load["latency_ms"],
        # Frames the client on B got, beside the batches each hub acknowledged: a session whose
        # queue is full loses frames (by design), and only frames that arrived have a latency.
        "websocket_clients": args.ws_clients,
        "ws_compression": args.ws_compression,
        "websocket_frames_received": {
            "from_hub_a": len(latencies["remote"]),
            "from_hub_b": len(latencies["local"]),
            "per_client_min": min(latencies["per_client_frames"]),
            "per_client_max": max(latencies["per_client_frames"]),
        },
        "websocket_on_b_ms": {
            "from_hub_a_via_redis": percentiles(latencies["remote"]),
            "from_hub_b_itself": percentiles(latencies["local"]),
        },
        "cpu_percent_of_one_core": cpu,
        "hub_cpu_ms_per_request": round(
            10 * sum(v for k, v in cpu.items() if k.startswith("hub"))
            / max(load["batches"]["acked"] / load["elapsed_s"], 1e-9),
            2,
        ),
        "hub_cpu_ms_per_request_each": {
            f"hub {name}" + (" (plain)" if args.plain_hub == name.lower() else ""): round(
                10 * cpu[f"hub {name}"]
                / max(load["acked_batches_by_hub"].get(h.url, 0) / load["elapsed_s"], 1e-9),
                2,
            )
            for name, h in zip("AB", hubs)
        },
        # Other work on the machine competes for its 2 cores: read the figures with this beside.
        "load_average_1m": {"before": load_before, "after": os.getloadavg()[0]},
        "count_check": count_check(acked, acked_batches, unacked, counts),
        "database_bytes": counts["database_bytes"],
        # Before compaction: the raw tier (a row per series per batch) with its index and TOAST.
        "raw_tier_bytes_per_sample": round(
            counts["raw_blocks_bytes"] / max(counts["raw_blocks_samples"], 1), 2
        ),
        # After the hub's compactor folded every window (bench data: noise rounded to 0.01, one
        # short window per series — not a day of host metrics like bench/storage_bytes.py's).
        "after_compaction": compacted,
    }
    print(json.dumps(result, indent=2))
    check = result["count_check"]
    return 0 if check["zero_loss"] and check["zero_duplicates"] else 1


if __name__ == "__main__":
    sys.exit(main())
