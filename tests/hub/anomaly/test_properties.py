"""Whatever finite input arrives, in whatever batches, scores are finite and in [0, 1]."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from hostpulse.hub.anomaly import AnomalyEngine
from hostpulse.hub.anomaly.plugins import plugin_manager

ENGINE_PM = plugin_manager(entry_points=False)
finite = st.floats(allow_nan=False, allow_infinity=False)
timestamps = st.integers(min_value=-(2**53), max_value=2**53)


@settings(max_examples=150, deadline=None)
@given(
    points=st.lists(st.tuples(timestamps, finite), min_size=1, max_size=200),
    cuts=st.lists(st.integers(min_value=1, max_value=20), max_size=30),
    metric=st.sampled_from(["cpu.percent", "net.rx_bytes_per_s"]),
    warmup=st.integers(min_value=0, max_value=5),
)
def test_scores_are_finite_and_bounded(points, cuts, metric, warmup) -> None:
    engine = AnomalyEngine({"warmup": warmup}, pm=ENGINE_PM)
    ts = np.array([p[0] for p in points], dtype=np.int64)
    values = np.array([p[1] for p in points], dtype=np.float64)
    lo = 0
    for size in [*cuts, len(points)]:
        if lo >= len(points):
            break
        res = engine.detect(["s"], [ts[lo : lo + size]], [values[lo : lo + size]], [metric])
        assert np.isfinite(res.score).all()
        assert ((res.score >= 0) & (res.score <= 1)).all()
        assert not np.isnan(res.low).any() and not np.isnan(res.high).any()
        assert (res.flag == (res.score >= 0.5)).all()
        lo += size
