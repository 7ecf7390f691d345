"""The hub's resident memory under ingest, round after round, beside a baseline of the same run.

    .venv/bin/python bench/ingest_memory.py [--hosts 1000] [--rounds 10] [--kind ingest]
        [--client round] [--gzip] [--db URL] [--trim] [--stats]

Starts a real ``hostpulse hub`` (no alert rules) and, each round, sends ``--hosts`` requests, 50 in
flight at a time, then prints the hub's RSS and anonymous memory (``/proc/PID/smaps_rollup``):

* ``--kind ingest``: each host posts one sample (one series), as in bench/alert_memory.py;
  ``--kind healthz``: the same number of ``GET /healthz``, the baseline that parses, routes and
  answers a request but stores nothing; ``--kind ingest-one``: every post from the same host.
* ``--client round``: one httpx client per round (50 connections opened and closed each round);
  ``post``: a client, hence a connection, per request; ``keep``: one client for the whole run.
* ``--collect``: after each round, a full ``gc.collect()`` in the hub (through gdb): how many
  objects were garbage awaiting the cyclic collector, and the RSS after it.
* ``--gc T0,T1,T2``: the hub's ``gc.set_threshold`` instead of the one run_hub sets.
* ``--trim``: after each round, ``malloc_trim(0)`` in the hub (through gdb) and the RSS after it:
  what the allocator holds free but has not given back.  ``--stats``: glibc's ``malloc_stats()``
  (bytes in use by the program vs held from the OS, all arenas) after each round, through gdb too.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from loadgen import create_tokens_inproc

from tests.support.hub_process import make_batch, now_ms, start_hub

IN_FLIGHT = 50
#: ``hostpulse`` with run_hub's collector thresholds replaced (``--gc``).
GC_HUB = (
    "import gc, hostpulse.hub.web.server as s; tune = s.tune_gc; "
    "s.tune_gc = lambda: (tune(), gc.set_threshold(*{thresholds})); "
    "from hostpulse.hub.commands.main import main; main()"
)


def mib(n: int) -> str:
    return f"{n / 2**20:.1f}"


def anonymous(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) * 1024
    return 0


def gdb_call(pid: int, expression: str) -> None:
    """Call a C function in the running hub (the process stops for the call, ~0.3 s)."""
    subprocess.run(
        ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", f"call (void){expression}"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip


def collect(pid: int, log: Path) -> tuple[int, float]:
    """A full collection in the hub: (objects found unreachable, milliseconds), read from its log."""
    code = (
        "import gc, sys, time; t = time.perf_counter(); n = gc.collect(); "
        "sys.stderr.write('ingest_memory collected %d in %.1f ms\\\\n' "
        "% (n, (time.perf_counter() - t) * 1000)); sys.stderr.flush()"
    )
    before = log.stat().st_size
    subprocess.run(
        ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "set $g = (int)PyGILState_Ensure()",
         "-ex", f'call (int)PyRun_SimpleString("{code}")', "-ex", "call (void)PyGILState_Release($g)"],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    time.sleep(0.2)
    with log.open("rb") as f:
        f.seek(before)
        found = re.findall(rb"ingest_memory collected (\d+) in ([\d.]+) ms", f.read())
    return (int(found[-1][0]), float(found[-1][1])) if found else (-1, 0.0)


def malloc_stats(pid: int, log: Path) -> tuple[int, int]:
    """glibc's totals over all arenas: (bytes held from the OS, bytes in use), read from the log."""
    before = log.stat().st_size
    gdb_call(pid, "malloc_stats()")
    time.sleep(0.2)
    with log.open("rb") as f:
        f.seek(before)
        text = f.read().decode(errors="replace")
    system = [int(x) for x in re.findall(r"system bytes\s+=\s+(\d+)", text)]
    in_use = [int(x) for x in re.findall(r"in use bytes\s+=\s+(\d+)", text)]
    # the last block is "Total (incl. mmap)"
    return (system[-1], in_use[-1]) if system and in_use else (0, 0)


async def one_round(args: argparse.Namespace, url: str, tokens: dict[str, str],
                    keep: httpx.AsyncClient | None) -> None:  # fmt: skip
    gate = asyncio.Semaphore(IN_FLIGHT)
    hosts = list(tokens.items())
    if args.kind == "ingest-one":
        hosts = [hosts[0]] * args.hosts
    at = now_ms() - 1000

    async def send(client: httpx.AsyncClient, host: str, token: str) -> None:
        if args.kind == "healthz":
            answer = await client.get(f"{url}/healthz")
            answer.raise_for_status()
            return
        body = json.dumps(make_batch(host, [{"metric": "cpu.percent", "labels": {}, "unit": "%",
                                             "ts": [at], "values": [5.0]}])).encode()  # fmt: skip
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if args.gzip:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        while True:  # a 503 (the writer's queue full) is retried, as the agent does
            answer = await client.post(f"{url}/api/v1/ingest", content=body, headers=headers)
            if answer.status_code != 503:
                break
            await asyncio.sleep(float(answer.headers.get("Retry-After", 1)))
        answer.raise_for_status()

    async def one(host: str, token: str, client: httpx.AsyncClient | None) -> None:
        async with gate:
            if client is not None:
                await send(client, host, token)
                return
            async with httpx.AsyncClient(timeout=60) as own:
                await send(own, host, token)

    if args.client == "round":
        async with httpx.AsyncClient(timeout=60) as client:
            await asyncio.gather(*(one(h, t, client) for h, t in hosts))
    else:
        await asyncio.gather(*(one(h, t, keep) for h, t in hosts))


async def run(args: argparse.Namespace, hub_url: str, tokens: dict[str, str], pid: int,
              log: Path) -> None:  # fmt: skip
    proc = psutil.Process(pid)
    # One connection per request in flight, all kept alive (httpx keeps 20 by default and closes
    # the 30 others after each answer, which is what ``--client round`` does).
    keep = (
        httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_keepalive_connections=IN_FLIGHT))
        if args.client == "keep"
        else None
    )
    started = proc.memory_info().rss
    print(f"{args.kind}, {args.hosts} requests a round, client per {args.client}, "
          f"{'gzip' if args.gzip else 'identity'}, {args.db or 'sqlite'}: hub RSS at start "
          f"{mib(started)} MiB, anonymous {mib(anonymous(pid))} MiB", flush=True)  # fmt: skip
    previous = started
    cpu = sum(proc.cpu_times()[:2])
    try:
        for r in range(args.rounds):
            t0 = time.monotonic()
            await one_round(args, hub_url, tokens, keep)
            took = time.monotonic() - t0
            await asyncio.sleep(args.settle)  # the writer's last commit, the token cache's refresh
            rss = proc.memory_info().rss
            spent, cpu = sum(proc.cpu_times()[:2]) - cpu, sum(proc.cpu_times()[:2])
            line = (f"round {r + 1:2d}: {took:5.1f} s, hub CPU {spent / args.hosts * 1e6:4.0f} us "
                    f"a request, RSS {mib(rss)} MiB "
                    f"({(rss - previous) / args.hosts / 1024:+.2f} KiB a request), anonymous "
                    f"{mib(anonymous(pid))} MiB")  # fmt: skip
            previous = rss
            if args.stats:
                system, in_use = malloc_stats(pid, log)
                line += f"; malloc: held {mib(system)} MiB, in use {mib(in_use)} MiB"
            if args.collect:
                found, ms = collect(pid, log)
                previous = proc.memory_info().rss
                line += f"; gc.collect() found {found} in {ms:.0f} ms, RSS {mib(previous)} MiB"
            if args.trim:
                gdb_call(pid, "malloc_trim(0)")
                previous = proc.memory_info().rss
                line += f"; after malloc_trim(0) RSS {mib(previous)} MiB"
            cpu = sum(proc.cpu_times()[:2])  # gdb's calls are not the requests' cost
            print(line, flush=True)
        rss = proc.memory_info().rss
        print(f"grew {mib(rss - started)} MiB over {args.rounds} rounds, "
              f"{(rss - started) / (args.rounds * args.hosts) / 1024:.2f} KiB a request")  # fmt: skip
    finally:
        if keep is not None:
            await keep.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000, help="requests a round (one per host)")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--kind", choices=("ingest", "ingest-one", "healthz"), default="ingest")
    ap.add_argument("--client", choices=("round", "post", "keep"), default="round")
    ap.add_argument("--gzip", action="store_true", help="gzip each body (Content-Encoding)")
    ap.add_argument("--db", help="a database URL for the hub (default: a fresh SQLite file)")
    ap.add_argument("--settle", type=float, default=1.0,
                    help="seconds between a round's last answer and the figures; past the hub's "
                    "keep-alive timer (10 s) no closed connection is still held")  # fmt: skip
    ap.add_argument("--collect", action="store_true", help="a full gc.collect() after a round")
    ap.add_argument("--gc", help="T0,T1,T2: the hub's gc.set_threshold instead of run_hub's")
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) in the hub after a round")
    ap.add_argument("--stats", action="store_true", help="glibc malloc_stats() after a round")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the hub process")
    args = ap.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="hp-ingest-memory-") as tmp:
        command = None
        if args.gc:
            thresholds = tuple(int(t) for t in args.gc.split(","))
            command = [sys.executable, "-c", GC_HUB.format(thresholds=thresholds)]
        hub = start_hub(Path(tmp) / "hub", db=args.db, env=env, command=command)
        try:
            tokens = create_tokens_inproc(hub.db, [f"fleet-{i:04d}" for i in range(args.hosts)])
            asyncio.run(run(args, hub.url, tokens, hub.process.pid, hub.log_path))
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
