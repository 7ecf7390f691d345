"""What the agent costs a host: CPU (% of one core) and RSS, beside a bare psutil loop, same run.

Runs, side by side and at the same time:
* the real agent (``hostpulse agent``) with its default sources, every one at a 1 s interval,
  sending to a local stand-in hub that answers 200 and counts what it receives;
* a bare loop that reads the same psutil figures once a second and does nothing with them.

After a warm-up, both processes' CPU time and RSS are sampled for ``--seconds`` (default 60).

    .venv/bin/python bench/agent_overhead.py              # the full minute
    .venv/bin/python bench/agent_overhead.py --seconds 15

The agent and the bare loop run under the interpreter that runs this script, importing the agent
from this source tree. The dev venv holds test tools (schemathesis pulls in rich, …) that a host
never has; to measure what a host pays, run it with the interpreter of a plain install:

    python3.11 -m venv /tmp/prodvenv && /tmp/prodvenv/bin/pip install .
    /tmp/prodvenv/bin/python bench/agent_overhead.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]

#: The bare loop's reads, by the source that makes the same psutil calls; it keeps nothing.
BARE_READS = {
    "cpu": "psutil.cpu_times(); psutil.cpu_times(percpu=True)",
    "memory": "psutil.virtual_memory(); psutil.swap_memory()",
    "disk": textwrap.dedent(
        """\
        for part in psutil.disk_partitions(all=False):
            try:
                psutil.disk_usage(part.mountpoint)
            except OSError:
                pass"""
    ),
    "diskio": "psutil.disk_io_counters(perdisk=True)",
    "net": "psutil.net_io_counters(pernic=True)",
    "load": "os.getloadavg()",
    "uptime": "psutil.boot_time()",
    "processes": textwrap.dedent(
        """\
        for proc in psutil.process_iter(["status", "cpu_times", "memory_info", "name"]):
            pass"""
    ),
    "sensors": "psutil.sensors_temperatures(); psutil.sensors_fans()",
}


def bare_loop(sources: dict[str, float]) -> str:
    """The script of a bare loop making the reads of ``sources``, each on its interval (s)."""
    lines = ["import os, time, psutil", "tick = 0", "while True:"]
    for name, interval in sources.items():
        if name in BARE_READS:
            every = max(1, round(interval))
            lines.append(f"    if tick % {every} == 0:")
            lines.append(textwrap.indent(BARE_READS[name], "        "))
    lines += ["    tick += 1", "    time.sleep(1 - time.time() % 1)"]
    return "\n".join(lines) + "\n"


class Counting:
    """What the stand-in hub has received."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.batches = 0
        self.samples = 0
        self.series: set[tuple[str, str]] = set()
        #: source -> latest (ts, value) of agent.collect_cpu_seconds, the agent's own accounting.
        self.source_cpu: dict[str, tuple[int, float]] = {}


def serve(counting: Counting) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real hub (Hypercorn) does

        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            payload = json.loads(gzip.decompress(body))
            with counting.lock:
                counting.batches += 1
                for series in payload["series"]:
                    counting.samples += len(series["values"])
                    counting.series.add((series["metric"], json.dumps(series["labels"], sort_keys=True)))
                    if series["metric"] == "agent.collect_cpu_seconds":
                        counting.source_cpu[series["labels"]["source"]] = (series["ts"][-1], series["values"][-1])
            answer = json.dumps({"batch_id": payload["batch_id"], "accepted": 0, "duplicate": False}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def default_sources() -> dict[str, float]:
    """The sources that run with no config and their default intervals, from ``hostpulse plugins``."""
    listed = subprocess.run(
        [sys.executable, "-c", "from hostpulse.hub.commands.main import main; main()", "plugins", "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )
    return {
        source["name"]: float(source["interval"])
        for plugin in json.loads(listed.stdout)
        for source in plugin["sources"]
        if source["default_enabled"] and not any(o["required"] for o in source["options"])
    }


def measure(processes: dict[str, psutil.Process], seconds: float) -> dict[str, dict[str, float]]:
    start = {name: p.cpu_times() for name, p in processes.items()}
    started = time.monotonic()
    rss: dict[str, list[int]] = {name: [] for name in processes}
    while time.monotonic() - started < seconds:
        for name, p in processes.items():
            rss[name].append(p.memory_info().rss)
        time.sleep(1.0)
    elapsed = time.monotonic() - started
    figures = {}
    for name, p in processes.items():
        end = p.cpu_times()
        used = (end.user - start[name].user) + (end.system - start[name].system)
        figures[name] = {
            "cpu_percent": 100 * used / elapsed,
            "rss_mb_mean": sum(rss[name]) / len(rss[name]) / 1e6,
            "rss_mb_max": max(rss[name]) / 1e6,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="measurement window (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds ignored at start (default 5)")
    parser.add_argument("--without", action="append", default=[], metavar="SOURCE",
                        help="leave a source out of both sides (repeatable), e.g. --without processes")
    parser.add_argument("--default-intervals", action="store_true",
                        help="keep each source's own default interval instead of forcing 1 s")
    args = parser.parse_args()

    counting = Counting()
    server = serve(counting)
    sources = {name: 1.0 for name in default_sources() if name not in args.without}
    if args.default_intervals:
        sources = {name: interval for name, interval in default_sources().items() if name in sources}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "agent.toml"
        config.write_text(
            "".join(f"[plugins.{name}]\ninterval = {interval}\n" for name, interval in sources.items())
            + "".join(f"[plugins.{name}]\nenabled = false\n" for name in args.without)
        )
        env = {**os.environ, "HOSTPULSE_TOKEN": "bench-token"}
        agent = subprocess.Popen(
            [sys.executable, "-c", "from hostpulse.hub.commands.main import main; main()", "agent",
             "--hub", f"http://127.0.0.1:{server.server_address[1]}", "--config", str(config),
             "--state-dir", str(Path(tmp) / "state"), "--log-level", "warning"],
            env=env, cwd=ROOT,
        )
        bare = subprocess.Popen([sys.executable, "-c", bare_loop(sources)])
        try:
            time.sleep(args.warmup)
            with counting.lock:
                before = (counting.batches, counting.samples)
                counting.series.clear()
                cpu_before = dict(counting.source_cpu)
            figures = measure({"agent": psutil.Process(agent.pid), "bare psutil loop": psutil.Process(bare.pid)},
                              args.seconds)
            with counting.lock:
                batches, samples = counting.batches - before[0], counting.samples - before[1]
                series = len(counting.series)
                cpu_after = dict(counting.source_cpu)
        finally:
            agent.send_signal(signal.SIGTERM)
            bare.kill()
            agent.wait(30)
            bare.wait(30)
            server.shutdown()

    print(f"window: {args.seconds:g} s after {args.warmup:g} s warm-up, on {psutil.cpu_count()} cores")
    print("agent sources (interval): " + ", ".join(f"{name} ({i:g} s)" for name, i in sources.items()))
    print(f"hub received: {series} series, {samples / args.seconds:.0f} samples/s, {batches} batches")
    print(f"{'':18} {'CPU % of one core':>18} {'RSS MB (mean)':>14} {'RSS MB (max)':>13}")
    for name, f in figures.items():
        print(f"{name:18} {f['cpu_percent']:18.2f} {f['rss_mb_mean']:14.1f} {f['rss_mb_max']:13.1f}")
    agent_f, bare_f = figures["agent"], figures["bare psutil loop"]
    print(f"ratio agent / bare loop: CPU {agent_f['cpu_percent'] / max(bare_f['cpu_percent'], 1e-9):.1f}x, "
          f"RSS {agent_f['rss_mb_mean'] / bare_f['rss_mb_mean']:.1f}x")
    shares = []
    for name, (ts, value) in sorted(cpu_after.items()):
        if name in cpu_before and ts > cpu_before[name][0]:
            start_ts, start_value = cpu_before[name]
            shares.append(f"{name} {100 * (value - start_value) / ((ts - start_ts) / 1000):.2f}")
    if shares:
        print("CPU % of one core inside each source's collect(), as the agent counts it: " + ", ".join(shares))
    print("targets (issue 3): ≤ 0.5 % of one core, ≤ 40 MB RSS, ≥ 100 series")


if __name__ == "__main__":
    main()
