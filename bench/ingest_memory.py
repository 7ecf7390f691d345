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
* ``--collect``: after each round, a full ``gc.collect()`` in the hub: how many
  objects were garbage awaiting the cyclic collector, and the RSS after it.
* ``--gc T0,T1,T2``: the hub's ``gc.set_threshold`` instead of the one run_hub sets.
* ``--garbage``: the objects each round left in reference cycles, by type (frames with their
  code, functions, exceptions with their message): from round 2 on the hub's collector keeps what
  it finds (``gc.DEBUG_SAVEALL``), and a full collection after the round counts it.
* ``--leave-cycles``: the hub without ``let_closed_connections_go`` (hub/web/cycles.py), for the
  figures before it.
* ``--trim``: after each round, ``malloc_trim(0)`` in the hub and the RSS after it:
  what the allocator holds free but has not given back.  ``--stats``: glibc's ``malloc_stats()``
  (bytes in use by the program vs held from the OS, all arenas) after each round.

These four run code in the hub: the hub is started with a thread that runs each file the bench
drops beside its log (``gdb -p`` cannot call into a process in this container: "Couldn't write
extended state status"). The thread wakes every 50 ms; it is there in every variant alike.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
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
DROP = "run-in-hub.py"  #: the file the hub's thread runs, beside its log
#: ``hostpulse hub``, with a thread that runs the code files the bench drops (:func:`in_hub`),
#: and run_hub's collector thresholds replaced when ``--gc`` gives others.
HUB = """
import gc, os, sys, threading, time
import hostpulse.hub.web.server as server

def run_dropped(path):
    while True:
        time.sleep(0.05)
        if os.path.exists(path):
            code = open(path).read()
            os.remove(path)
            exec(code, {{}})
            sys.stderr.write("ingest_memory ran\\n")
            sys.stderr.flush()

threading.Thread(target=run_dropped, args=({drop!r},), daemon=True).start()
if {leave_cycles!r}:  # the hub before hub/web/cycles.py: its patch finds itself applied
    from hypercorn.asyncio.tcp_server import TCPServer
    TCPServer.run._hostpulse = True
thresholds = {thresholds!r}
if thresholds:
    tune = server.tune_gc
    server.tune_gc = lambda: (tune(), gc.set_threshold(*thresholds))
from hostpulse.hub.commands.main import main
main()
"""

def mib(n: int) -> str:
    return f"{n / 2**20:.1f}"


def anonymous(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            return int(line.split()[1]) * 1024
    return 0


def collect(log: Path) -> tuple[int, float]:
    """A full collection in the hub: (objects found unreachable, milliseconds), read from its log."""
    code = (
        "import gc, sys, time; t = time.perf_counter(); n = gc.collect(); "
        "sys.stderr.write('ingest_memory collected %d in %.1f ms\\n' "
        "% (n, (time.perf_counter() - t) * 1000)); sys.stderr.flush()"
    )
    found = re.findall(rb"ingest_memory collected (\d+) in ([\d.]+) ms", python_in_hub(code, log))
    return (int(found[-1][0]), float(found[-1][1])) if found else (-1, 0.0)


#: Run in the hub (``--garbage``): what the collector found since the last call, by
#: type, written to the hub's log, then dropped.
GARBAGE = r"""
import collections, gc, sys, types
gc.collect()
found, gc.garbage[:] = list(gc.garbage), []
def name(o):
    t = type(o)
    n = f"{t.__module__}.{t.__qualname__}"
    if isinstance(o, types.FrameType):
        n += f" {o.f_code.co_qualname} ({o.f_code.co_filename.rsplit('/', 3)[-1]}:{o.f_lineno})"
    elif isinstance(o, types.FunctionType | types.MethodType):
        n += f" {o.__qualname__}"
    elif isinstance(o, BaseException):
        n += f" {str(o)[:60]!r}"
    elif isinstance(o, types.CoroutineType):
        n += f" {o.__qualname__}"
    return n
counts = collections.Counter(name(o) for o in found)
sys.stderr.write("".join(f"ingest_memory garbage {v} {k}\n" for k, v in counts.most_common(60)))
sys.stderr.write(f"ingest_memory garbage total {len(found)}\n")
sys.stderr.flush()
del found, counts
gc.set_debug(0)
gc.collect()  # what was kept, freed now (kept, it would be found again next time)
gc.set_debug(gc.DEBUG_SAVEALL)
"""


def python_in_hub(code: str, log: Path) -> bytes:
    """Run ``code`` in the hub (its thread picks the file up); what the hub logged meanwhile."""
    before = log.stat().st_size
    staged = drop_path(log).with_suffix(".staged")
    staged.write_text(code)
    staged.rename(drop_path(log))
    deadline = time.monotonic() + 120
    while True:
        with log.open("rb") as f:
            f.seek(before)
            written = f.read()
        if b"ingest_memory ran\n" in written:
            return written
        if time.monotonic() > deadline:
            raise TimeoutError("the hub did not run the dropped code")
        time.sleep(0.05)


def drop_path(log: Path) -> Path:
    return log.with_name(DROP)


def malloc_stats(log: Path) -> tuple[int, int]:
    """glibc's totals over all arenas: (bytes held from the OS, bytes in use), read from the log."""
    text = python_in_hub("import ctypes; ctypes.CDLL(None).malloc_stats()", log).decode("replace")
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
          f"{mib(started)} MiB, anonymous {mib(anonymous(pid))} MiB; "
          f"{'without' if args.leave_cycles else 'with'} hub/web/cycles.py; load average "
          f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
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
                system, in_use = malloc_stats(log)
                line += f"; malloc: held {mib(system)} MiB, in use {mib(in_use)} MiB"
            if args.garbage:
                found = re.findall(rb"ingest_memory garbage (.*)", python_in_hub(GARBAGE, log))
                previous = proc.memory_info().rss
                if r > 0:  # round 1's count starts at the hub's start, not the round's
                    line += "; left in reference cycles:" + "".join(
                        f"\n    {entry.decode(errors='replace')}" for entry in found
                    )
            if args.collect:
                found, ms = collect(log)
                previous = proc.memory_info().rss
                line += f"; gc.collect() found {found} in {ms:.0f} ms, RSS {mib(previous)} MiB"
            if args.trim:
                python_in_hub("import ctypes; ctypes.CDLL(None).malloc_trim(0)", log)
                previous = proc.memory_info().rss
                line += f"; after malloc_trim(0) RSS {mib(previous)} MiB"
            cpu = sum(proc.cpu_times()[:2])  # the dropped code's work is not the requests' cost
            print(line, flush=True)
        rss = proc.memory_info().rss
        print(f"grew {mib(rss - started)} MiB over {args.rounds} rounds, "
              f"{(rss - started) / (args.rounds * args.hosts) / 1024:.2f} KiB a request; "
              f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
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
    ap.add_argument("--garbage", action="store_true",
                    help="the objects left in reference cycles each round, by type")  # fmt: skip
    ap.add_argument("--trim", action="store_true", help="malloc_trim(0) in the hub after a round")
    ap.add_argument("--stats", action="store_true", help="glibc malloc_stats() after a round")
    ap.add_argument("--leave-cycles", action="store_true",
                    help="the hub without hub/web/cycles.py's workaround: the figures before it")  # fmt: skip
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the hub process")
    args = ap.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="hp-ingest-memory-") as tmp:
        thresholds = tuple(int(t) for t in args.gc.split(",")) if args.gc else ()
        workdir = Path(tmp) / "hub"
        code = HUB.format(
            drop=str(workdir / DROP), thresholds=thresholds, leave_cycles=args.leave_cycles
        )
        hub = start_hub(workdir, db=args.db, env=env, command=[sys.executable, "-c", code])
        try:
            tokens = create_tokens_inproc(hub.db, [f"fleet-{i:04d}" for i in range(args.hosts)])
            asyncio.run(run(args, hub.url, tokens, hub.process.pid, hub.log_path))
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
