"""The bench's NAB-like window score: the rules of issue 14, on hand-made flags."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench" / "anomaly"))

from window_score import FP_COST, corpus_tally, tally


def test_never_flagging_scores_zero_and_perfect_scores_about_a_hundred() -> None:
    onsets = [[100], [50, 300]]
    none = corpus_tally([np.zeros(400), np.zeros(400)], onsets, 0.5)
    assert none.scaled == 0.0
    perfect = [np.zeros(400), np.zeros(400)]
    for s, o in zip(perfect, onsets, strict=True):
        s[o] = 1.0
    assert corpus_tally(perfect, onsets, 0.5).scaled > 98.0


def test_earlier_detection_earns_more_and_false_rows_cost_each() -> None:
    early, late = np.zeros(1000, dtype=bool), np.zeros(1000, dtype=bool)
    early[200], late[240] = True, True  # window is [200, 250)
    assert tally(early, [200]).raw > tally(late, [200]).raw > 0
    false = early.copy()
    false[[10, 20, 900]] = True
    t = tally(false, [200])
    assert t.false_rows == 3
    assert np.isclose(t.raw, tally(early, [200]).raw - 3 * FP_COST)
    assert tally(np.zeros(1000, dtype=bool), [200]).raw == -1.0
