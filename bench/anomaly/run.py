"""Score the default detector and two baselines on the labelled corpus, side by side.

    .venv/bin/python bench/anomaly/run.py            # the table in docs/anomaly.md
    .venv/bin/python bench/anomaly/run.py --quick    # a smaller corpus, for a quick look

Every detector runs through the hub's own AnomalyEngine, fed the corpus in ingest-shaped batches
(every series, ``--chunk`` points each per call). Timings are measured in this same run: over
the corpus, and on synthetic ingest batches of 2,000 series x 5 points.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
from corpus import KINDS, Labelled, corpus
from evaluate import outcome, summarise

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.plugins import plugin_manager

DETECTORS = ("robust", "zscore", "fixed")
# Real metric names, so the hub's built-in config rules apply as they would in production.
METRIC = {
    "cpu": "cpu.percent",
    "mem": "mem.used_percent",
    "net": "net.rx_bytes_per_s",
    "disk": "disk.used_percent",
}


def engine(detector: str) -> AnomalyEngine:
    pm = plugin_manager(entry_points=False)
    pm.register(baselines, name="bench-baselines")
    warmup = {"robust": 60, "zscore": 60, "fixed": 0}[detector]
    return AnomalyEngine({"detector": detector, "warmup": warmup}, pm=pm)


def run_corpus(detector: str, labs: list[Labelled], chunk: int) -> tuple[list[np.ndarray], float]:
    """Flags of every series, and the µs per sample spent inside ``detect``."""
    eng = engine(detector)
    ids = list(range(len(labs)))
    metrics = [METRIC[lab.series_kind] for lab in labs]
    flags = [np.zeros(len(lab.ts), dtype=bool) for lab in labs]
    longest = max(len(lab.ts) for lab in labs)
    spent, samples = 0.0, 0
    for lo in range(0, longest, chunk):
        live = [i for i in ids if len(labs[i].ts) > lo]
        ts = [labs[i].ts[lo : lo + chunk] for i in live]
        vs = [labs[i].values[lo : lo + chunk] for i in live]
        began = time.perf_counter()
        res = eng.detect(live, ts, vs, [metrics[i] for i in live])
        spent += time.perf_counter() - began
        samples += len(res.flag)
        for j, i in enumerate(live):
            flags[i][lo : lo + chunk] = res.series(j)[3]
    return flags, spent / samples * 1e6


def run_ingest_shape(
    detector: str, series: int = 2000, points: int = 5, batches: int = 30
) -> float:
    """µs per sample on ingest-like batches: ``series`` series x ``points`` points per call.

    The median batch is reported: the machine is shared, and a neighbour's burst of work should
    not be billed to the detector."""
    rng = np.random.default_rng(1)
    eng = engine(detector)
    ids = list(range(series))
    metrics = ["cpu.percent"] * series
    spent = []
    t = 1_767_571_200_000
    for b in range(batches):
        ts = [t + 1000 * (b * points + np.arange(points, dtype=np.int64))] * series
        vs = list(50 + 5 * rng.standard_normal((series, points)))
        began = time.perf_counter()
        eng.detect(ids, ts, vs, metrics)
        spent.append(time.perf_counter() - began)
    return float(np.median(spent)) / (series * points) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--per-combo", type=int, default=12, help="series per (kind, anomaly)")
    parser.add_argument("--normal", type=int, default=16, help="anomaly-free series per kind")
    parser.add_argument("--chunk", type=int, default=10, help="points per series per call")
    parser.add_argument("--quick", action="store_true", help="3 per combo, 4 normal per kind")
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    args = parser.parse_args()
    if args.quick:
        args.per_combo, args.normal = 3, 4
    began = time.perf_counter()
    labs = corpus(args.seed, args.per_combo, args.normal)
    n_samples = sum(len(lab.ts) for lab in labs)
    print(
        f"corpus: seed {args.seed}, {len(labs)} series ({sum(1 for x in labs if x.anomaly)} "
        f"with one anomaly each), {n_samples:,} samples, generated in "
        f"{time.perf_counter() - began:.1f}s"
    )
    detectors = args.detectors.split(",")
    results = {}
    for det in detectors:
        flags, us_corpus = run_corpus(det, labs, args.chunk)
        rows = summarise(labs, [outcome(lab, f) for lab, f in zip(labs, flags, strict=True)])
        results[det] = (rows, us_corpus, run_ingest_shape(det))
    header = "| anomaly | n | " + " | ".join(f"{d} P / R / F1 / delay" for d in detectors) + " |"
    print()
    print(header)
    print("|" + " --- |" * (2 + len(detectors)))
    for kind in [*KINDS, "overall"]:
        if kind not in results[detectors[0]][0]:
            continue
        cells = []
        for det in detectors:
            r = results[det][0][kind]
            delay = "-" if np.isnan(r["delay_min"]) else f"{r['delay_min']:.0f} min"
            cells.append(f"{r['precision']:.2f} / {r['recall']:.2f} / {r['f1']:.2f} / {delay}")
        n = int(results[detectors[0]][0][kind]["n"])
        print(f"| {kind} | {n} | " + " | ".join(cells) + " |")
    n_normal = int(results[detectors[0]][0]["normal"]["n"])
    print(
        f"| false alarms / series / day (anomaly-free) | {n_normal} | "
        + " | ".join(f"{results[d][0]['normal']['fa_per_day']:.2f}" for d in detectors)
        + " |"
    )
    print(
        "| µs / sample, corpus batches | | "
        + " | ".join(f"{results[d][1]:.2f}" for d in detectors)
        + " |"
    )
    print(
        "| µs / sample, 2,000 series x 5 points | | "
        + " | ".join(f"{results[d][2]:.2f}" for d in detectors)
        + " |"
    )
    if "robust" in detectors:
        print("\nrobust, µs / sample by batch shape (series x points per detect call):\n")
        print("| series | 1 point | 5 points | 10 points |")
        print("| --- | --- | --- | --- |")
        for series in (30, 300, 3000):
            cells = [
                f"{run_ingest_shape('robust', series, points, max(15, 60_000 // (series * points))):.2f}"
                for points in (1, 5, 10)
            ]
            print(f"| {series:,} | " + " | ".join(cells) + " |")
    print(f"\ntotal {time.perf_counter() - began:.0f}s")


if __name__ == "__main__":
    main()
