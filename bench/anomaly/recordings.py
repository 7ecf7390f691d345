"""This machine's own metrics (record_machine.py's recordings/) as evaluation series.

Labelled: the series a workload clearly moves, with each such workload's start and end (the
return to idle is a change too) as incident onsets (stress-ng moves CPU and load, fio the disk's write rates, stress-ng --vm the memory).
Background: every other recorded series that is not constant by nature (totals, core counts,
uptime, per-process tops); their flags are counted only outside every workload (start to end plus
30 s), so the figure is a false-flag rate on real unlabelled data.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from hard_corpus import Series

HERE = Path(__file__).resolve().parent / "recordings"
# series key (metric{labels}) -> the workloads whose start it must flag
MOVED_BY: dict[str, tuple[str, ...]] = {
    "cpu.percent{cpu=total}": ("stress_cpu", "stress_vm"),
    "cpu.user{cpu=total}": ("stress_cpu", "stress_vm"),
    "load.1m": ("stress_cpu", "stress_vm"),
    "diskio.write_bytes_per_s{device=vda}": ("fio_randwrite", "fio_seqwrite"),
    "diskio.writes_per_s{device=vda}": ("fio_randwrite", "fio_seqwrite"),
    "mem.used": ("stress_vm",),
}
CONSTANT_BY_NATURE = ("disk.total", "mem.total", "swap.total", "load.cpus", "system.uptime", "procs.")
AFTER_MS = 30_000


def _load(stem: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], list[dict[str, object]]]:
    columns: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    with gzip.open(stem.with_suffix(".csv.gz"), "rt", newline="") as fh:
        for ts, metric, labels, value in csv.reader(fh):
            if ts == "ts_ms":
                continue
            key = f"{metric}{{{labels}}}" if labels else metric
            columns[key][0].append(int(ts))
            columns[key][1].append(float(value))
    series = {k: (np.asarray(t, dtype=np.int64), np.asarray(v)) for k, (t, v) in columns.items()}
    labels = json.loads(stem.with_suffix(".labels.json").read_text())
    return series, labels


def stems() -> list[Path]:
    return sorted(p.with_suffix("").with_suffix("") for p in HERE.glob("*.csv.gz"))


def labelled_and_background() -> tuple[list[Series], list[tuple[Series, np.ndarray]]]:
    """(labelled series, [(background series, mask of rows outside every workload)])."""
    labelled: list[Series] = []
    background: list[tuple[Series, np.ndarray]] = []
    for stem in stems():
        series, labels = _load(stem)
        busy = [(int(w["start_ms"]), int(w["end_ms"])) for w in labels if w["label"] != "idle"]
        for key, (ts, values) in series.items():
            name = f"{stem.name}:{key}"
            if key in MOVED_BY:
                onsets = sorted(
                    int(np.searchsorted(ts, int(w[edge])))
                    for w in labels
                    if w["label"] in MOVED_BY[key]
                    for edge in ("start_ms", "end_ms")
                )
                labelled.append(Series(name, ts, values, [o for o in onsets if o < len(ts)]))
            elif not key.startswith(CONSTANT_BY_NATURE):
                quiet = np.ones(len(ts), dtype=bool)
                for lo, hi in busy:
                    quiet &= ~((ts >= lo) & (ts < hi + AFTER_MS))
                background.append((Series(name, ts, values), quiet))
    return labelled, background
