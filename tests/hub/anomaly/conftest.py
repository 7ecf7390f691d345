"""Fixtures of the anomaly tests: small synthetic series and a way to score them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from hostpulse.hub.anomaly import AnomalyEngine, BatchResult
from hostpulse.hub.anomaly.plugins import plugin_manager

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC


def series(
    days: float = 3.0,
    *,
    level: float = 40.0,
    sigma: float = 3.0,
    cycle: float = 0.0,
    seed: int = 0,
    step_ms: int = MINUTE,
) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps and values: level + a daily cycle of amplitude ``cycle`` + Gaussian noise."""
    rng = np.random.default_rng(seed)
    ts = T0 + np.arange(int(days * DAY / step_ms), dtype=np.int64) * step_ms
    phase = 2 * np.pi * ((ts % DAY) / DAY - 13 / 24)
    values = level + cycle * np.cos(phase) + sigma * rng.standard_normal(len(ts))
    return ts, values


@pytest.fixture
def engine() -> Callable[..., AnomalyEngine]:
    """Make an engine from an ``[anomaly]`` dict, without installed third-party plugins."""

    def make(config: dict[str, Any] | None = None) -> AnomalyEngine:
        return AnomalyEngine(config, pm=plugin_manager(entry_points=False))

    return make


@pytest.fixture
def score(engine: Callable[..., AnomalyEngine]) -> Callable[..., BatchResult]:
    """Score one series in one call with a fresh default engine."""

    def run(ts: np.ndarray, values: np.ndarray, metric: str = "cpu.percent") -> BatchResult:
        return engine().detect(["s"], [ts], [values], [metric])

    return run
