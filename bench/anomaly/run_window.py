"""The window score (window_score.py) of the default detector and three baselines, same run.

    .venv/bin/python bench/anomaly/run_window.py

Corpus: hard_corpus.labelled() (1 s to 1 h spacing, irregular, counts, heavy tails, flat,
two-level flips, seasonality) and this machine's recordings (recordings.py: workload starts as
incidents) for the score, with one threshold for all of them; hard_corpus.unlabelled()
(statsmodels' real series) and the recordings' other series outside every workload for the
false-flag rate. Hub detectors run through AnomalyEngine in batches of every series x 10
points; river's HalfSpaceTrees (the `bench` extra) runs one sample at a time, as river does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baselines
import recordings
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


def _metric(s: Series) -> str:
    """A recorded series keeps its metric name, so the hub's built-in rules apply as in the hub
    (the log scale of ``*_per_s``); a generated one is just a value."""
    return s.name.split(":", 1)[1].split("{", 1)[0] if ":" in s.name else "bench.value"


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
            [_metric(series[i]) for i in live],
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


def scores(name: str, series: list[Series]) -> list[np.ndarray]:
    return hub_scores(HUB[name], series) if name in HUB else river_scores(series)


def _row(name: str, sl: list[np.ndarray], onsets: list[list[int]], thr: float) -> str:
    b, h = corpus_tally(sl, onsets, thr), corpus_tally(sl, onsets, 0.5)
    return (
        f"| {name} | {b.scaled:.1f} ({b.found}/{b.windows}, {b.false_rows}) "
        f"| {h.scaled:.1f} ({h.found}/{h.windows}, {h.first_half}, "
        f"{h.false_rows}/{h.normal_rows} = {100 * h.false_rows / max(h.normal_rows, 1):.3f} %) |"
    )


def main() -> None:
    began = time.perf_counter()
    lab, unl = labelled(), unlabelled()
    rec_lab, rec_bg = recordings.labelled_and_background()
    groups = {"synthetic (hard_corpus)": lab, "this machine's recordings": rec_lab}
    everything = [*lab, *rec_lab]
    onsets = [s.onsets for s in everything]
    background = [s for s, _ in rec_bg]
    n_all = sum(len(s.ts) for s in [*everything, *unl, *background])
    print(
        f"labelled: {len(lab)} synthetic series ({sum(len(s.ts) for s in lab):,} rows, "
        f"{sum(len(s.onsets) for s in lab)} incidents) + {len(rec_lab)} recorded series "
        f"({sum(len(s.ts) for s in rec_lab):,} rows, {sum(len(s.onsets) for s in rec_lab)} "
        f"workload onsets); unlabelled: statsmodels {len(unl)} series, "
        f"{sum(len(s.ts) for s in unl):,} rows; recorded background {len(background)} series, "
        f"{sum(int(q.sum()) for _, q in rec_bg):,} rows outside every workload"
    )
    results = {}
    for name in [*HUB, "river HalfSpaceTrees"]:
        t = time.perf_counter()
        sl, su, sb = scores(name, everything), scores(name, unl), scores(name, background)
        spent = (time.perf_counter() - t) / n_all * 1e6
        thr, _ = best(sl, onsets)  # one threshold for the whole labelled corpus
        results[name] = (sl, su, sb, thr, spent)
    print(
        "\nOne threshold for the whole labelled corpus. Cells: score (found/windows, false rows);"
        " at 0.5 also incidents found in their window's first half and false rows / normal rows."
    )
    for group, members in [("all labelled", everything), *groups.items()]:
        idx = [i for i, s in enumerate(everything) if any(s is m for m in members)]
        print(f"\n{group}:\n")
        print("| detector | best single threshold | at 0.5 |")
        print("| --- | --- | --- |")
        for name, (sl, _su, _sb, thr, _spent) in results.items():
            print(_row(f"{name} (thr {thr:g})", [sl[i] for i in idx], [onsets[i] for i in idx], thr))
    print("\nreal unlabelled data, rows flagged at 0.5 (and at each detector's best threshold):\n")
    print("| detector | statsmodels | recorded background, outside workloads | µs/sample |")
    print("| --- | --- | --- | --- |")
    n_unl = sum(len(s.ts) for s in unl)
    n_bg = sum(int(q.sum()) for _, q in rec_bg)
    for name, (_sl, su, sb, thr, spent) in results.items():
        cells = []
        for flagged_at in (0.5, thr):
            u = sum(int((s >= flagged_at).sum()) for s in su)
            b = sum(int(((s >= flagged_at) & q).sum()) for s, (_, q) in zip(sb, rec_bg, strict=True))
            cells.append((u, b))
        print(
            f"| {name} | {cells[0][0]}/{n_unl} ({cells[1][0]}) "
            f"| {cells[0][1]}/{n_bg} = {1000 * cells[0][1] / max(n_bg, 1):.2f} per 1,000 "
            f"({cells[1][1]}) | {spent:.1f} |"
        )
    print(f"\ntotal {time.perf_counter() - began:.0f}s (machine shared with five other engineers)")


if __name__ == "__main__":
    main()
