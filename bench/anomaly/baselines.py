"""The two baselines the bench compares against, as detector plugins of the same hook.

* ``fixed``: the original design's rule, flag when |value - 50| > 15.
* ``zscore``: rolling z-score over the last ``window`` samples, flag when |z| > 3 (with a long
  window, the "windowed Gaussian" baseline of the window-score bench).
* ``ewma``: an EWMA z-score, mean and variance exponentially weighted over ``span`` samples,
  flag when |z| > 4: the 30-line standard-library baseline issue 14 measured.

Both run through the same :class:`hub.anomaly.AnomalyEngine` path as the default detector, so the
per-sample timings compare like with like.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hostpulse.hub.anomaly import Detector, hookimpl, squash
from hostpulse.hub.anomaly.detector import FloatArray


class FixedThreshold(Detector):
    name = "fixed"
    description = "the original design: |value - 50| > 15"

    @property
    def state_size(self) -> int:
        return 0

    def step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        u = np.abs(x - 50.0) / 15.0
        u = np.where(u > 1.0, np.maximum(u, 1.0 + 1e-9), u)  # strictly greater flags
        return squash(u), np.full_like(x, 35.0), np.full_like(x, 65.0)


class RollingZScore(Detector):
    name = "zscore"
    description = "rolling z-score over the last `window` samples, |z| > 3"
    options: ClassVar[dict[str, Any]] = {"window": 60, "z": 3.0}

    @property
    def state_size(self) -> int:
        return 1 + int(self.config["window"])

    def step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        w, z = int(self.config["window"]), self.config["z"]
        buf = state[:, 1:]
        filled = np.minimum(n, w)[:, None]
        mask = np.arange(w)[None, :] < filled
        count = np.maximum(filled[:, 0], 1.0)
        mean = np.where(mask, buf, 0.0).sum(axis=1) / count
        var = np.where(mask, (buf - mean[:, None]) ** 2, 0.0).sum(axis=1) / count
        std = np.sqrt(var) + 1e-12 * (np.abs(mean) + 1.0)
        u = np.where(n >= w, np.abs(x - mean) / (std * z), 0.0)
        pos = (state[:, 0].astype(np.intp)) % w
        buf[np.arange(len(x)), pos] = x
        state[:, 0] = pos + 1
        return squash(u), mean - z * std, mean + z * std


class EwmaZScore(Detector):
    name = "ewma"
    description = "EWMA z-score over `span` samples, |z| > 4"
    options: ClassVar[dict[str, Any]] = {"span": 200.0, "z": 4.0}

    @property
    def state_size(self) -> int:
        return 2

    def step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        a = np.maximum(2.0 / (self.config["span"] + 1.0), 1.0 / (n + 1.0))
        mean, var = state[:, 0], state[:, 1]
        std = np.sqrt(var) + 1e-9 * (np.abs(mean) + 1.0)
        z = self.config["z"]
        u = np.where(n > 0, np.abs(x - mean) / (std * z), 0.0)
        low, high = mean - z * std, mean + z * std
        d = x - mean
        mean += a * d
        var[:] = (1.0 - a) * (var + a * d * d)
        return squash(u), low, high


@hookimpl
def register_detectors() -> list[type[Detector]]:
    return [FixedThreshold, RollingZScore, EwmaZScore]
