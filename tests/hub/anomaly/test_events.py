"""Issue 14's failure modes, through the engine the hub calls once per ingest batch."""

from __future__ import annotations

import numpy as np

from hostpulse.hub.anomaly import AnomalyEngine
from tests.hub.anomaly.conftest import MINUTE, T0

SECOND = 1000


def run(ts: np.ndarray, values: np.ndarray, metric: str = "cpu.percent", chunk: int = 5):
    """Scores and flags of one series fed in ingest-sized batches."""
    eng = AnomalyEngine()
    score = np.zeros(len(ts))
    flag = np.zeros(len(ts), dtype=bool)
    for lo in range(0, len(ts), chunk):
        res = eng.detect(["s"], [ts[lo : lo + chunk]], [values[lo : lo + chunk]], [metric])
        score[lo : lo + chunk], _, _, flag[lo : lo + chunk] = res.series(0)
    return score, flag


def test_a_counter_flat_at_zero_then_busy_flags_its_onset_not_every_second() -> None:
    # The demo's net.*_packets_per_s: 0 through the warm-up, then ordinary traffic around 10/s.
    rng = np.random.default_rng(3)
    n = 1200
    ts = T0 + SECOND * np.arange(n, dtype=np.int64)
    values = np.zeros(n)
    values[300:] = rng.poisson(10, n - 300)
    _, flag = run(ts, values, metric="net.rx_packets_per_s")
    assert flag[300:310].any(), "the onset of traffic is an event"
    assert flag.sum() <= 3, f"{flag.sum()} points flagged; expected the onset only"


def test_a_shifted_level_is_flagged_once_at_its_onset_then_is_the_new_normal() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    ts = T0 + MINUTE * np.arange(n, dtype=np.int64)
    values = 40 + 2 * rng.standard_normal(n)
    values[2000:] += 30
    score, flag = run(ts, values)
    assert flag[2000], "the onset is flagged"
    assert flag[2000:].sum() == 1, np.flatnonzero(flag[2000:])[:5]
    assert (score[2001:2003] > 0.4).all(), "the run's next points stay high, just under 0.5"
    assert not flag[:2000].any()


def test_the_same_series_at_one_second_and_one_hour_flags_the_same_spike() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    values = 100 + 5 * rng.standard_normal(n)
    values[1500] += 60
    for step in (SECOND, 3600 * SECOND):
        ts = T0 + step * np.arange(n, dtype=np.int64)
        _, flag = run(ts, values)
        assert flag[1500], f"spike missed at spacing {step} ms"
        assert flag.sum() <= 3, f"{flag.sum()} flags at spacing {step} ms"
