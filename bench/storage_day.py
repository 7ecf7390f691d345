"""A simulated day of one host's 1 s metrics, shaped like what the built-in plugins send.

Shared by the storage benches. Values are made the way the plugins make them: percentages rounded
to 2 decimals (cpu, processes) or 1 (psutil's mem/disk percent), byte counts as whole floats,
rates as ``delta / elapsed`` over a jittered monotonic interval (full float64 noise, the hard case
for any codec), load averages to 2 decimals, uptime as a wall-clock difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DAY_S = 86_400


@dataclass(slots=True)
class SimSeries:
    metric: str
    labels: dict[str, str]
    unit: str
    values: np.ndarray  # float64, one per second


def _walk(rng: np.random.Generator, n: int, start: float, step: float, lo: float, hi: float) -> np.ndarray:
    return np.clip(start + np.cumsum(rng.normal(0, step, n)), lo, hi)


def _rate(rng: np.random.Generator, n: int, elapsed: np.ndarray, mean: float, idle: float) -> np.ndarray:
    """Counter deltas (integers, zero a fraction ``idle`` of the time) over jittered seconds."""
    deltas = rng.poisson(mean, n).astype(np.float64)
    deltas[rng.random(n) < idle] = 0.0
    return deltas / elapsed


def simulated_day(seed: int = 1, seconds: int = DAY_S) -> list[SimSeries]:
    """About 77 series of one host over ``seconds`` seconds, one sample per second each."""
    rng = np.random.default_rng(seed)
    n = seconds
    out: list[SimSeries] = []
    add = lambda metric, values, unit="", **labels: out.append(
        SimSeries(metric, labels, unit, np.asarray(values, dtype=np.float64))
    )
    # cpu.*: shares of ~100 jiffies per core per second, rounded to 2 decimals like plugins/cpu.py.
    busy = np.clip(_walk(rng, n, 20, 0.8, 1, 95) + rng.normal(0, 6, n), 0, 100)
    for cpu in ("total", "0", "1"):
        whole = rng.integers(99, 102, n) * (2 if cpu == "total" else 1)
        parts = {
            "user": np.round(busy / 100 * 0.7 * whole + rng.normal(0, 2, n)).clip(0, whole),
            "system": np.round(busy / 100 * 0.25 * whole + rng.normal(0, 1, n)).clip(0, whole),
            "iowait": np.where(rng.random(n) < 0.1, rng.integers(0, 4, n), 0),
            "steal": np.zeros(n),
        }
        percent = (parts["user"] + parts["system"] + parts["iowait"]).clip(0, whole)
        add("cpu.percent", np.round(percent / whole * 100, 2), "%", cpu=cpu)
        for mode, part in parts.items():
            add(f"cpu.{mode}", np.round(part / whole * 100, 2), "%", cpu=cpu)
    total = 8 * 2**30
    used = np.round(_walk(rng, n, 3.2 * 2**30, 2e6, 1e9, 7e9) / 4096) * 4096
    add("mem.total", np.full(n, float(total)), "B")
    add("mem.used", used, "B")
    add("mem.available", total - used - 5e8, "B")
    add("mem.percent", np.round(used / total * 100, 1), "%")
    add("swap.total", np.full(n, 2.0 * 2**30), "B")
    swap_used = np.round(_walk(rng, n, 1e8, 2e4, 0, 2e9) / 4096) * 4096
    add("swap.used", swap_used, "B")
    add("swap.percent", np.round(swap_used / 2**31 * 100, 1), "%")
    elapsed = 1.0 + rng.normal(0, 0.0015, n)  # the agent's monotonic interval between rounds
    add("swap.in_bytes_per_s", _rate(rng, n, elapsed, 4096, 0.995), "B/s")
    add("swap.out_bytes_per_s", _rate(rng, n, elapsed, 4096, 0.998), "B/s")
    for mount, size in (("/", 100 * 2**30), ("/boot", 2**29)):
        disk_used = np.round(_walk(rng, n, size * 0.4, 4096 * 3, 0, size) / 4096) * 4096
        add("disk.total", np.full(n, float(size)), "B", mount=mount)
        add("disk.used", disk_used, "B", mount=mount)
        add("disk.free", size - disk_used, "B", mount=mount)
        add("disk.percent", np.round(disk_used / size * 100, 1), "%", mount=mount)
    add("diskio.read_bytes_per_s", _rate(rng, n, elapsed, 40_000, 0.9), "B/s", device="sda")
    add("diskio.write_bytes_per_s", _rate(rng, n, elapsed, 120_000, 0.4), "B/s", device="sda")
    add("diskio.reads_per_s", _rate(rng, n, elapsed, 4, 0.9), "/s", device="sda")
    add("diskio.writes_per_s", _rate(rng, n, elapsed, 12, 0.4), "/s", device="sda")
    add("diskio.busy_percent", np.minimum(100, _rate(rng, n, elapsed, 30, 0.4) / 10), "%", device="sda")
    for iface, bytes_mean, idle in (("lo", 3000, 0.3), ("eth0", 20_000, 0.05)):
        for direction in ("rx", "tx"):
            add(f"net.{direction}_bytes_per_s", _rate(rng, n, elapsed, bytes_mean, idle), "B/s", iface=iface)
            add(f"net.{direction}_packets_per_s", _rate(rng, n, elapsed, bytes_mean / 700, idle), "/s", iface=iface)
            add(f"net.{direction}_errors_per_s", np.zeros(n), "/s", iface=iface)
            add(f"net.{direction}_drops_per_s", _rate(rng, n, elapsed, 1, 0.999), "/s", iface=iface)
    load = np.clip(busy / 50 + rng.normal(0, 0.05, n), 0, None)
    for name, span in (("1m", 60), ("5m", 300), ("15m", 900)):
        kernel = np.ones(span) / span
        add(f"load.{name}", np.round(np.convolve(load, kernel, "same"), 2))
    add("load.cpus", np.full(n, 2.0))
    procs = np.round(_walk(rng, n, 180, 0.3, 120, 400))
    add("procs.total", procs)
    for state, share in (("running", 0.01), ("sleeping", 0.9), ("idle", 0.08), ("stopped", 0.0),
                         ("zombie", 0.0), ("disk-sleep", 0.01)):
        add("procs.count", np.round(procs * share + rng.integers(-1, 2, n) * (share > 0)).clip(0), state=state)
    for rank in range(5):
        add("procs.top_cpu_percent", np.round(np.abs(rng.normal(10 / (rank + 1), 2, n)), 2), "%",
            name=f"proc{rank}", pid=str(1000 + rank))
        add("procs.top_rss", np.round(_walk(rng, n, 2e8 / (rank + 1), 1e4, 1e6, 4e9) / 4096) * 4096, "B",
            name=f"proc{rank}", pid=str(1000 + rank))
    add("sensors.temperature", np.round(_walk(rng, n, 45, 0.05, 30, 90)), "°C", chip="coretemp", sensor="core0")
    add("sensors.temperature", np.round(_walk(rng, n, 28, 0.01, 20, 60), 1), "°C", chip="acpitz", sensor="temp1")
    boot = 1_764_000_000.123456
    wall = 1_764_050_000.0 + np.arange(n) + rng.normal(0.0005, 0.0003, n)
    add("system.uptime", wall - boot, "s")
    return out
