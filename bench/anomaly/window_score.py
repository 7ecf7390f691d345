"""A NAB-like window score (issue 14's rules), on any detector's per-point scores.

* Each incident has a window: from its onset, ``WINDOW_FRACTION`` of the series' length divided
  by its number of incidents (at least ``MIN_WINDOW`` samples).
* The first flag inside a window earns ``2 / (1 + e^(5 y)) - 1`` with ``y`` from -1 (the
  window's first point: 0.99) to 0 (its last: 0); later flags in the window cost nothing.
* Each window with no flag costs 1; each flagged point outside every window costs ``FP_COST``.
* One threshold for the whole corpus; scaled so that never flagging scores 0 and perfect 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_FRACTION = 0.05
MIN_WINDOW = 10
FP_COST = 0.11


@dataclass(slots=True)
class Tally:
    raw: float = 0.0
    windows: int = 0
    found: int = 0
    first_half: int = 0
    false_rows: int = 0
    normal_rows: int = 0

    def add(self, other: Tally) -> None:
        for key in self.__slots__:  # type: ignore[attr-defined]
            setattr(self, key, getattr(self, key) + getattr(other, key))

    @property
    def scaled(self) -> float:
        """100 x (raw - never-flag) / (perfect - never-flag); never-flag = -windows."""
        return 100.0 * (self.raw + self.windows) / (2 * self.windows) if self.windows else 0.0


def windows(n: int, onsets: list[int]) -> list[tuple[int, int]]:
    if not onsets:
        return []
    width = max(MIN_WINDOW, int(WINDOW_FRACTION * n / len(onsets)))
    return [(o, min(n, o + width)) for o in onsets]


def tally(flag: np.ndarray, onsets: list[int]) -> Tally:
    out = Tally(windows=len(onsets))
    inside = np.zeros(len(flag), dtype=bool)
    for lo, hi in windows(len(flag), onsets):
        inside[lo:hi] = True
        hits = np.flatnonzero(flag[lo:hi])
        if len(hits):
            y = hits[0] / max(hi - lo - 1, 1) - 1.0
            out.raw += 2.0 / (1.0 + np.exp(5.0 * y)) - 1.0
            out.found += 1
            out.first_half += int(hits[0] < (hi - lo) / 2)
        else:
            out.raw -= 1.0
    out.false_rows = int((flag & ~inside).sum())
    out.normal_rows = int((~inside).sum())
    out.raw -= FP_COST * out.false_rows
    return out


def corpus_tally(scores: list[np.ndarray], onsets: list[list[int]], threshold: float) -> Tally:
    total = Tally()
    for s, o in zip(scores, onsets, strict=True):
        total.add(tally(s >= threshold, o))
    return total


def best(scores: list[np.ndarray], onsets: list[list[int]]) -> tuple[float, Tally]:
    """The single threshold (of a fixed grid) with the highest corpus score."""
    grid = np.concatenate([np.linspace(0.05, 0.95, 19), [0.97, 0.99, 0.995, 0.999]])
    tallies = [(float(t), corpus_tally(scores, onsets, float(t))) for t in grid]
    return max(tallies, key=lambda pair: pair[1].raw)
