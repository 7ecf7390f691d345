"""``hostpulse detect`` on one series: start-up and cost per sample, beside its baselines.

    .venv/bin/python bench/anomaly/detect_speed.py                # 100,000 rows, 5 repeats
    .venv/bin/python bench/anomaly/detect_speed.py --rows 20000 --repeats 3

All in this one run, medians of the repeats, through the real console script in a subprocess:

* start-up: ``hostpulse detect --help``, and ``hostpulse detect`` on a header line alone (the
  config parsed, the detector built, nothing scored); ``python -c pass`` beside them;
* per sample: the wall time of ``hostpulse detect < rows.csv`` minus its start-up, over the rows;
  the baseline is ``hostpulse detect --detector none`` on the same file (read, parse, print a score:
  everything but the detection), so ``robust - none`` is what detection itself costs;
* in-process, same series: the scalar stream (what the command runs) and the hub's engine fed one
  series point by point in chunks as the command used to (numpy per point on length-1 arrays).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.stream import open_stream

HOSTPULSE = str(Path(sys.executable).with_name("hostpulse"))
T0 = 1_767_571_200_000


def rows(n: int) -> tuple[np.ndarray, np.ndarray]:
    """A CPU-like series at 1 s: a daily cycle, AR(1) noise, a few spikes and one level shift."""
    rng = np.random.default_rng(3)
    ts = T0 + np.arange(n, dtype=np.int64) * 1000
    noise = np.zeros(n)
    e = rng.standard_normal(n)
    for i in range(1, n):
        noise[i] = 0.8 * noise[i - 1] + e[i]
    values = 40 + 10 * np.sin(2 * np.pi * ts / 86_400_000) + 2 * noise
    values[rng.choice(n, 5, replace=False)] += 30
    values[n // 2 :] += 15
    return ts, values


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def wall(args: list[str], stdin: Path | None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run: on a shared machine the CPU time is
    what the command costs, the wall time also what the neighbours took."""
    began, cpu = time.perf_counter(), _cpu()
    with open(stdin or "/dev/null", "rb") as fh:
        subprocess.run(args, stdin=fh, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began, _cpu() - cpu


def median_wall(args: list[str], stdin: Path | None, repeats: int) -> tuple[float, float]:
    runs = [wall(args, stdin) for _ in range(repeats)]
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def in_process(ts: np.ndarray, values: np.ndarray, engine_rows: int) -> tuple[float, float]:
    """µs per sample: the scalar stream over every row, the engine over the first ``engine_rows``
    in the command's old chunks (64 KiB of CSV, about 2,500 rows each)."""
    stream = open_stream({}, "cpu.percent")
    assert stream is not None
    pairs = list(zip(ts.tolist(), values.tolist(), strict=True))
    began = time.perf_counter()
    for t, v in pairs:
        stream.push(t, v)
    scalar = (time.perf_counter() - began) / len(pairs) * 1e6
    engine = AnomalyEngine({})
    began = time.perf_counter()
    for lo in range(0, engine_rows, 2500):
        engine.detect(["s"], [ts[lo : lo + 2500]], [values[lo : lo + 2500]], ["cpu.percent"])
    vectorised = (time.perf_counter() - began) / engine_rows * 1e6
    return scalar, vectorised


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--engine-rows", type=int, default=5_000)
    args = parser.parse_args()
    ts, values = rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "rows.csv"
        header = Path(tmp) / "header.csv"
        header.write_text("timestamp,value\n")
        body = "".join(f"{t},{v!r}\n" for t, v in zip(ts.tolist(), values.tolist(), strict=True))
        csv_path.write_text("timestamp,value\n" + body)
        r = args.repeats
        python = median_wall([sys.executable, "-c", "pass"], None, r)
        helps = median_wall([HOSTPULSE, "detect", "--help"], None, r)
        start = {
            d: median_wall([HOSTPULSE, "detect", "--detector", d], header, r)
            for d in ("robust", "none")
        }
        full = {
            d: median_wall([HOSTPULSE, "detect", "--detector", d], csv_path, r)
            for d in ("robust", "none")
        }
    per = {d: [(full[d][k] - start[d][k]) / args.rows * 1e6 for k in (0, 1)] for d in full}
    scalar, vectorised = in_process(ts, values, min(args.engine_rows, args.rows))
    load = os.getloadavg()[0]
    print(f"hostpulse detect, one series of {args.rows:,} rows at 1 s; medians of {r} runs")
    print(
        f"(load average {load:.1f}: wall times include the neighbours' share; CPU is the command's)\n"
    )
    print("| what | wall | CPU |")
    print("| --- | --- | --- |")

    def ms(pair: tuple[float, float]) -> str:
        return f"{pair[0] * 1e3:.0f} ms | {pair[1] * 1e3:.0f} ms"

    def us(pair: list[float]) -> str:
        return f"{pair[0]:.2f} µs | {pair[1]:.2f} µs"

    print(f"| `python -c pass` | {ms(python)} |")
    print(f"| start-up, `hostpulse detect --help` | {ms(helps)} |")
    print(f"| start-up, `hostpulse detect` on a header alone | {ms(start['robust'])} |")
    print(f"| per sample, `hostpulse detect` (robust) | {us(per['robust'])} |")
    print(f"| per sample, baseline `--detector none` (read, parse, print) | {us(per['none'])} |")
    own = [per["robust"][k] - per["none"][k] for k in (0, 1)]
    print(f"| per sample, detection itself (robust - none) | {us(own)} |")
    print(f"| in-process, scalar stream | {scalar:.2f} µs | |")
    engine_n = min(args.engine_rows, args.rows)
    print(
        f"| in-process, hub engine on one series (first {engine_n:,} rows) | {vectorised:.2f} µs | |"
    )
    print(f"\nscalar stream vs engine on one series: {vectorised / scalar:.0f}x faster")


if __name__ == "__main__":
    main()
