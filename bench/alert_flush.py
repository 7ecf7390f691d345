"""What storing alert transitions costs: ``store.flush`` per transition, on a fresh database.

    .venv/bin/python bench/alert_flush.py [--series 400] [--rules 10] [--flushes 12]
    .venv/bin/python bench/alert_flush.py --db postgres://postgres@127.0.0.1:5432/DB  # a fresh DB

Each flush moves every instance (``--series`` × ``--rules``) once, pending and back in turn, as a
fleet flapping across a level does; the first two flushes (the rows' first inserts) are not
counted. CPU is the whole process's, so aiosqlite's thread (the SQL itself) counts; PostgreSQL's
own server CPU does not. Beside it, in the same run, what reading the same instances' stored
states back costs (``store._stored_states``): the PostgreSQL path reads them to judge a
transition against what other hubs stored; the SQLite path, one hub alone, does not.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from hostpulse.hub.alerts import store
from hostpulse.hub.alerts.states import INACTIVE, PENDING, Transition
from hostpulse.hub.storage.database import close_database, open_database

AT = 1_800_000_000_000


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def moves(series: int, rules: int, k: int) -> list[Transition]:
    state, previous = (PENDING, INACTIVE) if k % 2 == 0 else (INACTIVE, PENDING)
    return [
        Transition(f"r{r}", "threshold", f"host-{s % 100}", f"m{s}", {"n": str(s)}, s,
                   previous, state, "warning", 81.0, AT + k, None, None)
        for s in range(series) for r in range(rules)
    ]  # fmt: skip


async def run(db_url: str, args: argparse.Namespace) -> None:
    await open_database(db_url)
    n = args.series * args.rules
    flush_us, read_us = [], []
    try:
        for k in range(args.flushes):
            batch = moves(args.series, args.rules, k)
            since = {(t.rule, t.host, store.series_key(t.series_id)): t.at for t in batch}
            before = cpu_s()
            await store.flush(batch, since, lambda t: (), "", AT)
            flushed = cpu_s()
            keys = set(since)
            await store._stored_states(store.conn(), store.conn().capabilities.dialect, keys)
            if k >= 2:
                flush_us.append((flushed - before) / n * 1e6)
                read_us.append((cpu_s() - flushed) / n * 1e6)
    finally:
        await close_database()
    dialect = db_url.split(":", 1)[0]
    print(f"{dialect}: {args.flushes - 2} flushes of {n:,} moves (pending <-> inactive), CPU of "
          f"every thread, median (range)")  # fmt: skip
    for label, values in (("store.flush", flush_us), ("reading their states back", read_us)):
        print(f"  {label}: {statistics.median(values):.2f} µs a transition "
              f"({min(values):.2f} to {max(values):.2f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=400)
    ap.add_argument("--rules", type=int, default=10)
    ap.add_argument("--flushes", type=int, default=12)
    ap.add_argument("--db", default="", help="a fresh database URL (default: a temp SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hp-alert-flush-") as tmp:
        asyncio.run(run(args.db or f"sqlite://{tmp}/hub.db", args))


if __name__ == "__main__":
    main()
