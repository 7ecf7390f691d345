"""Sustained durable ingest of one hub on SQLite, beside the raw sqlite3 ceiling measured in the same run.

    .venv/bin/python bench/ingest_throughput.py            # 50 agents, 250,000 samples/s offered
    .venv/bin/python bench/ingest_throughput.py --duration 10 --ceiling-duration 10

Starts a real ``hostpulse hub`` (full pipeline: auth, validation, dedupe, the hub's own detection
and live publish if any, group commit) on a fresh SQLite file, makes the agents' tokens with
``hostpulse token create``, and drives it with bench/loadgen.py on loopback, sharing the cores:

1. warm-up: one small batch per agent, so series creation is not timed;
2. paced: every agent posts S series × K points every interval, the interval chosen so the fleet
   offers ``--rate`` samples/s; reports what was sustained and the ingest latency percentiles;
3. ceiling: the same fleet in a closed loop (next batch as soon as the last is acknowledged).

Then the hub is stopped and the samples stored (raw blocks + compacted chunks) are counted
against the samples acknowledged: zero loss and zero duplicates means equal. Last, plain sqlite3
``executemany`` inserts as many (series_id, ts, value) rows into a fresh file, no index, same
journal mode, and the ratios are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from loadgen import LoadConfig, count_check, create_tokens, host_names, run_load

from tests.support.hub_process import start_hub


def stored_counts(db_path: Path) -> dict[str, int]:
    """Samples and batches in the hub's SQLite file, read with plain sqlite3 after the hub stopped."""
    with sqlite3.connect(db_path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        samples = 0
        for table in ("raw_blocks", "chunks"):
            if table in tables:
                samples += db.execute(f"SELECT COALESCE(SUM(count), 0) FROM {table}").fetchone()[0]
        batches, batch_samples, distinct = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(samples), 0), COUNT(DISTINCT host_id || '/' || batch_id) "
            "FROM ingested_batches"
        ).fetchone()
    return {
        "samples": int(samples),
        "batches": int(batches),
        "batch_samples": int(batch_samples),
        "distinct_batches": int(distinct),
    }


def sqlite_ceiling(path: Path, rows: int, per_call: int = 5000, per_commit: int = 100_000) -> float:
    """Rows/s of plain sqlite3 executemany of (series_id, ts, value) rows into a fresh file."""
    rng = np.random.default_rng(7)
    # Rows are built before the clock starts: the ceiling is the database's, not Python's.
    templates = [
        list(
            zip(
                rng.integers(1, 5000, per_call).tolist(),
                (1_764_000_000_000 + np.arange(per_call) + i * per_call).tolist(),
                np.round(rng.uniform(0, 100, per_call), 2).tolist(),
                strict=True,
            )
        )
        for i in range(16)
    ]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE samples (series_id INTEGER, ts INTEGER, value REAL)")
    done = 0
    started = time.perf_counter()
    while done < rows:
        db.execute("BEGIN")
        in_tx = 0
        while in_tx < per_commit and done < rows:
            n = min(per_call, rows - done)
            chunk = templates[(done // per_call) % len(templates)]
            db.executemany(
                "INSERT INTO samples VALUES (?, ?, ?)", chunk[:n] if n < per_call else chunk
            )
            done += n
            in_tx += n
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return rows / elapsed


def brief(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if k != "config"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--series", type=int, default=100, help="series per agent")
    p.add_argument("--points", type=int, default=50, help="points per series per batch")
    p.add_argument(
        "--rate", type=float, default=250_000, help="samples/s offered in the paced phase"
    )
    p.add_argument("--duration", type=float, default=30, help="seconds of the paced phase")
    p.add_argument(
        "--ceiling-duration", type=float, default=20, help="seconds of the closed loop; 0: skip"
    )
    p.add_argument("--workdir", type=Path, help="keep the hub's files here (default: a temp dir)")
    args = p.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hp-ingest-") as tmp:
        workdir = args.workdir or Path(tmp)
        hub = start_hub(workdir / "hub")
        try:
            base = LoadConfig(
                hubs=[hub.url], agents=args.agents, series=args.series, points=args.points
            )
            tokens = create_tokens(hub.db, host_names(base))
            runs: dict[str, dict[str, Any]] = {}
            runs["warmup"] = asyncio.run(
                run_load(replace(base, points=1, max_batches=1, duration_s=120), tokens)
            )
            interval = args.agents * args.series * args.points / args.rate
            runs["paced"] = asyncio.run(
                run_load(replace(base, interval_s=interval, duration_s=args.duration), tokens)
            )
            if args.ceiling_duration > 0:
                runs["ceiling"] = asyncio.run(
                    run_load(replace(base, duration_s=args.ceiling_duration), tokens)
                )
        finally:
            hub.stop()  # SIGTERM: the writer commits what is queued
        counts = stored_counts(workdir / "hub" / "hub.sqlite3")
        acked = sum(r["samples_acked"] for r in runs.values())
        acked_batches = sum(r["batches"]["acked"] for r in runs.values())
        unacked = sum(r["batches"]["unacked"] for r in runs.values())
        raw_rows_per_s = sqlite_ceiling(workdir / "ceiling.sqlite3", max(counts["samples"], 1))

    load_after = os.getloadavg()[0]
    best = max(r["samples_per_s"] for name, r in runs.items() if name != "warmup")
    result = {
        "bench": "ingest_throughput",
        "agents": args.agents,
        "series_per_agent": args.series,
        "points_per_batch_series": args.points,
        "offered_samples_per_s": args.rate,
        "paced": brief(runs["paced"]),
        "ceiling": brief(runs["ceiling"]) if "ceiling" in runs else None,
        "count_check": count_check(acked, acked_batches, unacked, counts),
        "sqlite3_executemany_rows_per_s": round(raw_rows_per_s),
        "ratio_paced_to_sqlite3": round(runs["paced"]["samples_per_s"] / raw_rows_per_s, 3),
        "ratio_best_to_sqlite3": round(best / raw_rows_per_s, 3),
        # Other work on the machine competes for its 2 cores: read the figures with this beside.
        "load_average_1m": {"before": load_before, "after": load_after},
    }
    print(json.dumps(result, indent=2))
    paced = runs["paced"]
    lat = paced["latency_ms"]
    print(
        f"\npaced  : {paced['samples_per_s']:>10,} samples/s of {args.rate:,.0f} offered, "
        f"p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms",
        file=sys.stderr,
    )
    if "ceiling" in runs:
        c = runs["ceiling"]
        print(
            f"ceiling: {c['samples_per_s']:>10,} samples/s closed loop, p99 {c['latency_ms'].get('p99')} ms",
            file=sys.stderr,
        )
    print(
        f"sqlite3: {round(raw_rows_per_s):>10,} rows/s executemany (ratio best/sqlite3 "
        f"{result['ratio_best_to_sqlite3']})\ncount  : acked {acked:,}, stored {counts['samples']:,}",
        file=sys.stderr,
    )
    ok = result["count_check"]["zero_loss"] and result["count_check"]["zero_duplicates"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
