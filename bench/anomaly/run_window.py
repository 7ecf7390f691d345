"""The window score (window_score.py) of the default detector and three baselines, same run.

    .venv/bin/python bench/anomaly/run_window.py

Corpus: hard_corpus.labelled() (1 s to 1 h spacing, irregular, counts, heavy tails, flat,
two-level flips, seasonality) for the score, hard_corpus.unlabelled() (statsmodels' real series)
for the false-flag rate. Hub detectors run through AnomalyEngine in batches of every series x 10
points; river's HalfSpaceTrees (the `bench` extra) runs one sample at a time, as river does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
from hard_corpus import Series, labelled, unlabelled
from window_score import best, corpus_tally

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.plugins import plugin_manager

CHUNK = 10
HUB = {
    "robust": {"detector": "robust"},
    "ewma": {"detector": "ewma"},
    "windowed gaussian": {"detector": "zscore", "options": {"zscore": {"window": 500}}},
}


def hub_scores(config: dict[str, object], series: list[Series]) -> list[np.ndarray]:
    pm = plugin_manager(entry_points=False)
    pm.register(baselines, name="bench-baselines")
    eng = AnomalyEngine({**config, "warmup": 60}, pm=pm)
    out = [np.zeros(len(s.ts)) for s in series]
    longest = max(len(s.ts) for s in series)
    for lo in range(0, longest, CHUNK):
        live = [i for i, s in enumerate(series) if len(s.ts) > lo]
        res = eng.detect(
            live,
            [series[i].ts[lo : lo + CHUNK] for i in live],
            [series[i].values[lo : lo + CHUNK] for i in live],
            ["bench.value"] * len(live),
        )
        for j, i in enumerate(live):
            out[i][lo : lo + CHUNK] = res.series(j)[0]
    return out


def river_scores(series: list[Series]) -> list[np.ndarray]:
    from river import anomaly, preprocessing

    out = []
    for s in series:
        model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(
            n_trees=10, height=6, window_size=250, seed=1
        )
        sc = np.zeros(len(s.ts))
        for i, v in enumerate(s.values.tolist()):
            x = {"v": v}
            sc[i] = model.score_one(x) if i >= 60 else 0.0
            model.learn_one(x)
        out.append(sc)
    return out


def main() -> None:
    began = time.perf_counter()
    lab, unl = labelled(), unlabelled()
    onsets = [s.onsets for s in lab]
    n_lab, n_unl = sum(len(s.ts) for s in lab), sum(len(s.ts) for s in unl)
    print(
        f"labelled: {len(lab)} series, {n_lab:,} rows, {sum(map(len, onsets))} incidents; "
        f"unlabelled (statsmodels): {len(unl)} series, {n_unl:,} rows"
    )
    rows = []
    for name in [*HUB, "river HalfSpaceTrees"]:
        t = time.perf_counter()
        if name in HUB:
            sl, su = hub_scores(HUB[name], lab), hub_scores(HUB[name], unl)
        else:
            sl, su = river_scores(lab), river_scores(unl)
        spent = (time.perf_counter() - t) / (n_lab + n_unl) * 1e6
        thr, b = best(sl, onsets)
        h = corpus_tally(sl, onsets, 0.5)
        unl_flags = sum(int((s >= 0.5).sum()) for s in su)
        rows.append((name, thr, b, h, unl_flags, spent))
    print()
    print(
        "| detector | score, best threshold (thr: found/windows, false rows) "
        "| score at 0.5 (found, in first half, false rows / normal rows) "
        "| statsmodels rows flagged at 0.5 | µs/sample |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, thr, b, h, unl_flags, spent in rows:
        print(
            f"| {name} | {b.scaled:.1f} ({thr:g}: {b.found}/{b.windows}, {b.false_rows}) "
            f"| {h.scaled:.1f} ({h.found}/{h.windows}, {h.first_half}, "
            f"{h.false_rows}/{h.normal_rows} = {100 * h.false_rows / h.normal_rows:.3f} %) "
            f"| {unl_flags}/{n_unl} | {spent:.1f} |"
        )
    print(f"\ntotal {time.perf_counter() - began:.0f}s (machine shared with five other engineers)")


if __name__ == "__main__":
    main()
