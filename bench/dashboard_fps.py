"""How smooth is the dashboard with many live hosts? Frames, long tasks, draw latency, heap.

Starts a real hub (SQLite in a temp dir), gives it 5 minutes of history for N simulated hosts
sending series like the default sources (cpu, memory, disk, disk I/O, network, load), then opens
the overview and one host page in Debian's chromium, each in its own window, and measures:

* frames per second, counted with requestAnimationFrame, median over one-second buckets;
* long tasks (PerformanceObserver "longtask"), per 15 s;
* draw latency: from the hub's receipt time (the points frame's `received_at`) to the animation
  frame that draws it, p50/p95 (only charts on screen draw, so only they count), split into the
  hub's and socket's share (receipt to the frame reaching the page's script) and the page's;
* JS heap after a forced GC (CDP HeapProfiler.collectGarbage) at the start and end of the run.

The baseline is measured in the same run: the same two pages, open on the same hub and data,
before the hosts go live. Targets (issue 6): >= 55 fps median, <= 5 long tasks per 15 s, p95
draw latency <= 150 ms, heap within +-10 % over 10 minutes.

    .venv/bin/python bench/dashboard_fps.py                   # 50 hosts, 2 min warm-up, 10 min measured
    .venv/bin/python bench/dashboard_fps.py --duration 60 --warmup 20     # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.hub_process import make_batch, run_cli, start_hub

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Two windows side by side: neither may be throttled as a background tab.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
PROBE = """
window.__bench = {frames: [], longtasks: []};
(function loop(t) { window.__bench.frames.push(t); requestAnimationFrame(loop); })(0);
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
}).observe({entryTypes: ["longtask"]});
"""


def host_series(host: int, ts: list[int], rnd: random.Random) -> list[dict[str, Any]]:
    """About what the default sources send for one host: 27 series."""

    def s(
        metric: str, unit: str, labels: dict[str, str], base: float, noise: float
    ) -> dict[str, Any]:
        values = [max(0.0, base + rnd.gauss(0, noise)) for _ in ts]
        return {"metric": metric, "labels": labels, "unit": unit, "ts": ts, "values": values}

    busy = 10 + host % 60
    gib = 1024.0**3
    out = [s("cpu.percent", "%", {"cpu": "total"}, busy, 5)]
    out += [s("cpu.percent", "%", {"cpu": str(c)}, busy, 8) for c in range(2)]
    out += [s(f"cpu.{m}", "%", {"cpu": "total"}, busy / 3, 2) for m in ("user", "system", "iowait")]
    out += [
        s("mem.used", "B", {}, 6 * gib, 0.1 * gib),
        s("mem.available", "B", {}, 10 * gib, 0.1 * gib),
        s("mem.total", "B", {}, 16 * gib, 0),
        s("mem.percent", "%", {}, 40 + host % 50, 1),
        s("swap.used", "B", {}, 0.2 * gib, 0),
        s("swap.percent", "%", {}, 2, 0),
    ]
    disk = {"mount": "/", "device": "/dev/sda1", "fstype": "ext4"}
    out += [
        s("disk.used", "B", disk, 70 * gib, 0.01 * gib),
        s("disk.free", "B", disk, 30 * gib, 0.01 * gib),
        s("disk.total", "B", disk, 100 * gib, 0),
        s("disk.percent", "%", disk, 70, 0.1),
    ]
    out += [
        s(f"diskio.{m}", u, {"disk": "sda"}, b, b / 5)
        for m, u, b in (
            ("read_bytes_per_s", "B/s", 2e6),
            ("write_bytes_per_s", "B/s", 1e6),
            ("reads_per_s", "/s", 50),
            ("writes_per_s", "/s", 30),
        )
    ]
    out += [
        s(f"net.{m}", u, {"iface": "eth0"}, b, b / 4)
        for m, u, b in (
            ("rx_bytes_per_s", "B/s", 3e6),
            ("tx_bytes_per_s", "B/s", 1e6),
            ("rx_packets_per_s", "/s", 2000),
            ("tx_packets_per_s", "/s", 1500),
        )
    ]
    out += [s(f"load.{m}", "", {}, 1 + host % 4, 0.1) for m in ("1m", "5m", "15m")]
    return out


class Simulator:
    """Posts one batch per host per second from its own thread and event loop."""

    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url = url
        self.tokens = tokens
        self.stop = threading.Event()
        self.sent = 0
        self.failed = 0
        self.late = 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True)

    async def run(self) -> None:
        self.slots = asyncio.Semaphore(16)
        rnd = random.Random(1)
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=self.url, timeout=10, limits=limits) as client:
            next_tick = time.time()
            while not self.stop.is_set():
                next_tick += 1.0
                await asyncio.gather(
                    *(self.post(client, i, name, rnd) for i, name in enumerate(self.tokens))
                )
                delay = next_tick - time.time()
                if delay < 0:
                    self.late += 1
                    next_tick = time.time()
                else:
                    await asyncio.sleep(delay)

    async def post(self, client: httpx.AsyncClient, i: int, name: str, rnd: random.Random) -> None:
        # Stamp the point only once a connection is free, so waiting in this process's own
        # queue does not count as the hub's or the dashboard's latency.
        async with self.slots:
            await self.send(
                client, name, make_batch(name, host_series(i, [int(time.time() * 1000)], rnd))
            )

    async def send(self, client: httpx.AsyncClient, name: str, batch: dict[str, Any]) -> None:
        try:
            r = await client.post(
                "/api/v1/ingest",
                json=batch,
                headers={"Authorization": f"Bearer {self.tokens[name]}"},
            )
            ok = r.status_code == 200
        except httpx.HTTPError:
            ok = False
        self.sent += ok
        self.failed += not ok


def create_token(db: str, host: str) -> str:
    """`hostpulse token create`, retried: parallel CLIs can meet a locked SQLite file."""
    for attempt in range(5):
        done = run_cli("token", "create", host, "--db", db, check=False)
        if done.returncode == 0:
            return done.stdout.strip().splitlines()[-1]
        time.sleep(0.5 * (attempt + 1))
    raise RuntimeError(f"token create {host} failed: {done.stderr}")


def fps_buckets(frames: list[float], start: float, end: float) -> list[int]:
    """Frames per whole second between `start` and `end` (performance.now() ms)."""
    buckets = [0] * int((end - start) // 1000)
    for t in frames:
        i = int((t - start) // 1000)
        if 0 <= i < len(buckets):
            buckets[i] += 1
    return buckets


def measure(pages: dict[str, Any], seconds: float) -> dict[str, dict[str, float]]:
    marks = {name: p.evaluate("() => performance.now()") for name, p in pages.items()}
    time.sleep(seconds)
    out = {}
    for name, p in pages.items():
        end = p.evaluate("() => performance.now()")
        data = p.evaluate("() => window.__bench")
        buckets = fps_buckets(data["frames"], marks[name], end)
        long_tasks = [t for t, _ in data["longtasks"] if marks[name] <= t <= end]
        out[name] = {
            "fps_median": statistics.median(buckets) if buckets else 0.0,
            "fps_p5": sorted(buckets)[len(buckets) // 20] if buckets else 0.0,
            "long_tasks_per_15s": len(long_tasks) * 15_000 / max(1.0, end - marks[name]),
        }
    return out


def heap_after_gc(cdp: Any) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return float(cdp.send("Runtime.getHeapUsage")["usedSize"])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--duration", type=float, default=600, help="seconds measured while live")
    parser.add_argument(
        "--warmup", type=float, default=120, help="seconds live before measuring (V8 warms up)"
    )
    parser.add_argument("--baseline", type=float, default=15)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        hub = start_hub(Path(tmp) / "hub")
        try:
            names = [f"host-{i:02d}" for i in range(args.hosts)]
            print(f"hub {hub.url}; creating {len(names)} tokens …", flush=True)
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                tokens = dict(
                    zip(names, pool.map(lambda n: create_token(hub.db, n), names), strict=True)
                )
            rnd = random.Random(0)
            now = int(time.time() * 1000)
            history = list(range(now - 300_000, now, 1000))
            for i, name in enumerate(names):
                r = httpx.post(
                    f"{hub.url}/api/v1/ingest",
                    json=make_batch(name, host_series(i, history, rnd)),
                    headers={"Authorization": f"Bearer {tokens[name]}"},
                    timeout=60,
                )
                r.raise_for_status()
            print("history posted: 5 min × 27 series per host", flush=True)

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
                pages: dict[str, Any] = {}
                cdps: dict[str, Any] = {}
                for label, route in (("overview", "#/"), ("host page", f"#/host/{names[0]}")):
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    context.add_init_script(PROBE)
                    page = context.new_page()
                    page.goto(f"{hub.url}/{route}")
                    page.wait_for_function(
                        "() => window.hostpulse && window.hostpulse.live.state === 'open'"
                    )
                    page.evaluate("() => { window.hostpulse.perf.enabled = true }")
                    pages[label] = page
                    cdps[label] = context.new_cdp_session(page)
                time.sleep(10)  # history loaded and drawn before the idle baseline
                baseline = measure(pages, args.baseline)

                sim = Simulator(hub.url, tokens)
                sim.thread.start()
                time.sleep(args.warmup)
                heap_start = {k: heap_after_gc(c) for k, c in cdps.items()}
                for p in pages.values():
                    p.evaluate(
                        "() => { const m = window.hostpulse.perf; m.latencies.length = 0; m.arrivals.length = 0; m.waits.length = 0 }"
                    )
                loaded = measure(pages, args.duration)
                latencies = {
                    k: p.evaluate("() => window.hostpulse.perf.latencies") for k, p in pages.items()
                }
                waits = {
                    k: p.evaluate("() => window.hostpulse.perf.waits") for k, p in pages.items()
                }
                arrivals = {
                    k: p.evaluate("() => window.hostpulse.perf.arrivals") for k, p in pages.items()
                }
                long_tasks = {
                    k: p.evaluate("() => window.__bench.longtasks.map(t => Math.round(t[1]))")
                    for k, p in pages.items()
                }
                heap_end = {k: heap_after_gc(c) for k, c in cdps.items()}
                charts = {
                    k: p.evaluate("() => window.hostpulse.charts.size") for k, p in pages.items()
                }
                sim.stop.set()
                sim.thread.join(15)
                browser.close()
        finally:
            hub.stop()

    print(
        f"\n{args.hosts} hosts × 27 series at 1 Hz; measured {args.duration:.0f} s live after "
        f"{args.warmup:.0f} s warm-up; batches sent {sim.sent}, failed {sim.failed}, late ticks {sim.late}"
    )
    print(f"{'page':<10} {'figure':<26} {'baseline (idle)':>16} {'live':>10}  target")
    for k in pages:
        b, m = baseline[k], loaded[k]
        lat = latencies[k]
        drift = 100 * (heap_end[k] - heap_start[k]) / heap_start[k]
        rows = [
            ("fps median", f"{b['fps_median']:.0f}", f"{m['fps_median']:.0f}", ">= 55"),
            ("fps 5th percentile", f"{b['fps_p5']:.0f}", f"{m['fps_p5']:.0f}", ""),
            (
                "long tasks per 15 s",
                f"{b['long_tasks_per_15s']:.1f}",
                f"{m['long_tasks_per_15s']:.1f}",
                "<= 5",
            ),
            (
                "frame arrival p50 ms",
                "",
                f"{percentile(arrivals[k], 0.5):.0f}",
                "(hub + socket share)",
            ),
            ("frame arrival p95 ms", "", f"{percentile(arrivals[k], 0.95):.0f}", ""),
            (
                "in page, to draw p50 ms",
                "",
                f"{percentile(waits[k], 0.5):.0f}",
                "(dashboard share)",
            ),
            ("in page, to draw p95 ms", "", f"{percentile(waits[k], 0.95):.0f}", ""),
            ("draw latency p50 ms", "", f"{percentile(lat, 0.5):.0f}", ""),
            ("draw latency p95 ms", "", f"{percentile(lat, 0.95):.0f}", "<= 150"),
            ("draws measured", "", f"{len(lat)}", ""),
            ("heap after GC MiB", f"{heap_start[k] / 2**20:.1f}", f"{heap_end[k] / 2**20:.1f}", ""),
            ("heap drift %", "", f"{drift:+.1f}", "within ±10"),
            ("charts on page", "", f"{charts[k]}", ""),
        ]
        for name, base, live, target in rows:
            print(f"{k:<10} {name:<26} {base:>16} {live:>10}  {target}")
        print(f"{k:<10} longest tasks ms: {sorted(long_tasks[k])[-8:]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
