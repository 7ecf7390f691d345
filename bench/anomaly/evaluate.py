"""Scoring a detector's flags against the corpus labels.

* An *alarm* is a run of flagged points; runs less than ``MERGE_MS`` apart are one alarm.
* An anomaly is *detected* when a point is flagged within ``WINDOW_MS[kind]`` after its labelled
  start; the delay is from the start to that first flagged point.
* An alarm is *true* when it touches the labelled interval stretched to at least the detection
  window, plus ``GRACE_MS`` after its end (a model settling after the anomaly); else it is false.
* Precision counts alarms; recall counts anomalies. Alarms on anomaly-free series are false
  alarms, reported per series per day and counted in the overall precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from corpus import DAY_MS, Labelled

MIN_MS = 60_000
MERGE_MS = 30 * MIN_MS
GRACE_MS = 120 * MIN_MS
WINDOW_MS = {
    "spike": 60 * MIN_MS,
    "level_shift": 60 * MIN_MS,
    "variance": 60 * MIN_MS,
    "drift": 360 * MIN_MS,
    "cycle_break": 360 * MIN_MS,
}


@dataclass(slots=True)
class Outcome:
    alarms: int = 0
    true_alarms: int = 0
    detected: bool = False
    delay_min: float = float("nan")
    days: float = 0.0


def alarms(ts: np.ndarray, flag: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) timestamps of each alarm."""
    hit = ts[flag]
    if len(hit) == 0:
        return []
    breaks = np.flatnonzero(np.diff(hit) > MERGE_MS)
    firsts = np.concatenate([[0], breaks + 1])
    lasts = np.concatenate([breaks, [len(hit) - 1]])
    return [(int(hit[a]), int(hit[b])) for a, b in zip(firsts, lasts, strict=True)]


def outcome(lab: Labelled, flag: np.ndarray) -> Outcome:
    out = Outcome(days=(int(lab.ts[-1]) - int(lab.ts[0])) / DAY_MS)
    found = alarms(lab.ts, flag)
    out.alarms = len(found)
    if lab.anomaly is None:
        return out
    window = WINDOW_MS[lab.anomaly]
    lo, hi = lab.start, max(lab.end, lab.start + window) + GRACE_MS
    out.true_alarms = sum(1 for a, b in found if b >= lo and a <= hi)
    hits = lab.ts[flag & (lab.ts >= lab.start) & (lab.ts <= lab.start + window)]
    if len(hits):
        out.detected = True
        out.delay_min = (int(hits[0]) - lab.start) / MIN_MS
    return out


def f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def summarise(labs: list[Labelled], outs: list[Outcome]) -> dict[str, dict[str, float]]:
    """Per anomaly kind and overall: precision, recall, F1, median delay; plus false alarms per
    series per day on the anomaly-free series."""
    rows: dict[str, dict[str, float]] = {}
    kinds = sorted({lab.anomaly for lab in labs if lab.anomaly}, key=list(WINDOW_MS).index)
    for kind in [*kinds, "overall"]:
        pick = [
            (lab, o)
            for lab, o in zip(labs, outs, strict=True)
            if kind == "overall" or lab.anomaly == kind
        ]
        alarms_n = sum(o.alarms for _, o in pick)
        true_n = sum(o.true_alarms for _, o in pick)
        anomalies = [o for lab, o in pick if lab.anomaly]
        found = [o for o in anomalies if o.detected]
        precision = true_n / alarms_n if alarms_n else 1.0
        recall = len(found) / len(anomalies) if anomalies else 0.0
        delays = [o.delay_min for o in found]
        rows[kind] = {
            "precision": precision,
            "recall": recall,
            "f1": f1(precision, recall) if found else 0.0,
            "delay_min": float(np.median(delays)) if delays else float("nan"),
            "n": float(len(anomalies)),
        }
    normal = [o for lab, o in zip(labs, outs, strict=True) if lab.anomaly is None]
    days = sum(o.days for o in normal)
    rows["normal"] = {
        "fa_per_day": sum(o.alarms for o in normal) / days if days else 0.0,
        "n": float(len(normal)),
    }
    return rows
