"""What robust knows at each workload edge of the recordings: why an edge is or is not flagged.

    .venv/bin/python bench/anomaly/onsets.py [--series cpu.percent] [--recording quiet]

For every labelled series of recordings.py, one line per workload edge: the value just before
and just after it (one sample later: the onset index is the first sample at or after the label),
robust's level (the daily profile, small after 20 minutes, comes on top) and scale at that
moment, read from the series' snapshot,
and the highest score in the edge's first 4 samples. A shift that is many times the series' idle
noise but scores under 0.5 is one the detector has learned to take for ordinary.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import recordings

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.plugins import plugin_manager
from hostpulse.hub.anomaly.robust_params import LEVEL, OPTIONS, SCALE, RobustParams
from hostpulse.hub.anomaly.snapshot import floats, unpack

LOOK = 4  # samples after an edge within which a flag is "at the onset" (a 10-sample window's half)
SIZE = RobustParams(OPTIONS).state_size  # the log-scale rule changes the transform, not the size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="", help="only series whose name contains this")
    parser.add_argument("--recording", default="", help="only this recording (machine, quiet)")
    args = parser.parse_args()
    labelled, _ = recordings.labelled_and_background()
    for s in labelled:
        if args.series not in s.name or not s.name.startswith(args.recording):
            continue
        metric = s.name.split(":", 1)[1].split("{", 1)[0]
        eng = AnomalyEngine({"warmup": 60}, pm=plugin_manager(entry_points=False))
        scores = np.zeros(len(s.ts))
        known: dict[int, tuple[float, float]] = {}
        edges = set(s.onsets)
        for i in range(len(s.ts)):
            if i in edges:  # the state the edge's next sample is scored against
                state = floats(unpack(eng.snapshot(["s"])["s"], "robust", SIZE)[2])
                known[i] = (state[LEVEL], state[SCALE])
            scores[i] = eng.detect(["s"], [s.ts[i : i + 1]], [s.values[i : i + 1]], [metric]).score[0]
        log = "log1p " if metric.endswith("_per_s") else ""
        print(f"{s.name} ({len(s.ts)} samples; level and scale in {log}units)")
        for o in s.onsets:
            level, scale = known.get(o, (float("nan"), float("nan")))
            before, after = s.values[max(o - 1, 0)], s.values[min(o + 1, len(s.ts) - 1)]
            best = scores[o : o + LOOK + 1].max()
            print(
                f"  edge at {o:>4}: {before:>10.4g} -> {after:<10.4g} level {level:.4g} "
                f"scale {scale:.3g} best score {best:.2f}{'  flagged' if best >= 0.5 else ''}"
            )


if __name__ == "__main__":
    main()
