"""Calibration: on normal data of any noise shape, about 1 point in 1,000 at most reaches 0.5
(the target is 2 in 10,000; heavy tails and log-normal noise reach 0.6-0.8 in 1,000)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hub.anomaly.conftest import T0

N = 20_000


def normal_series(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "heavy tails (Student t, 3 dof)":
        return 50.0 + 2.0 * rng.standard_t(3, N)
    if kind == "log-normal":
        return rng.lognormal(3.0, 1.0, N)
    if kind == "counts (Poisson 2)":
        return rng.poisson(2.0, N).astype(float)
    if kind == "sensor flipping between two levels":
        return 20.0 + 5.0 * (np.cumsum(rng.random(N) < 0.02) % 2)
    if kind == "flat at 0 with rare unit blips":
        return (rng.random(N) < 0.01).astype(float)
    if kind == "sparse ticks, as a VM's cpu.steal":
        # 0 mostly, a tick of 1 % on 4 % of the seconds, one of 4-9 % on 0.5 % (recorded steal:
        # 3.7-7.3 % non-zero, mostly 1 %, up to 9 %). Before the sparse widening of the
        # calibration's cap: 3.0 in 1,000 flagged here.
        x = np.zeros(N)
        r = rng.random(N)
        x[r < 0.04] = 1.0
        big = r > 0.995
        x[big] = rng.integers(4, 10, int(big.sum()))
        return x
    if kind == "steal ticks in bursts":
        # As the demo's cpu.steal on a quiet VM: ticks of 0.5 % on 1.2 % of the seconds, half of
        # them followed by another (0.50, then 0.51): the smallest step falls to 0.01. Before the
        # sparse widening of the scale, 16-21 in 960 seconds flagged on half the seeds tried.
        on = rng.random(N) < 0.012
        on[1:] |= on[:-1] & (rng.random(N - 1) < 0.5)
        x = np.zeros(N)
        x[on] = 0.5 + 0.01 * rng.integers(-1, 4, int(on.sum()))
        return x
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "heavy tails (Student t, 3 dof)",
        "log-normal",
        "counts (Poisson 2)",
        "sensor flipping between two levels",
        "flat at 0 with rare unit blips",
        "sparse ticks, as a VM's cpu.steal",
        "steal ticks in bursts",
    ],
)
def test_normal_data_rarely_reaches_half(engine, kind: str) -> None:
    values = normal_series(kind, np.random.default_rng(3))
    ts = T0 + np.arange(N, dtype=np.int64) * 1000  # 1 s spacing, 5.5 hours
    eng = engine()
    flags = np.zeros(N, dtype=bool)
    for lo in range(0, N, 40):  # as the hub sees it: a few points per call
        flags[lo : lo + 40] = eng.detect(
            ["s"], [ts[lo : lo + 40]], [values[lo : lo + 40]], ["m"]
        ).flag
    # After the first 10 % (warm-up and first estimates); without the calibration the
    # log-normal series flagged 2.4 in 1,000 here.
    rate = flags[N // 10 :].mean()
    assert rate <= 1.2e-3, f"{kind}: {1000 * rate:.2f} in 1,000 normal points flagged"


def test_state_stays_small(engine) -> None:
    eng = engine()
    ts = T0 + np.arange(100, dtype=np.int64) * 1000
    eng.detect(["s"], [ts], [np.ones(100)], ["m"])
    blob = eng.snapshot(["s"])["s"]
    assert len(blob) <= 2048, f"{len(blob)} bytes of state for one series"
