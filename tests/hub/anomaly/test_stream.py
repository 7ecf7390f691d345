"""The one-series scalar path (hostpulse detect's) against the hub's vectorised engine: the same
scores and bands on recorded and synthetic series, and snapshots that cross between the two."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from hostpulse.hub.anomaly import SnapshotError
from hostpulse.hub.anomaly.stream import SeriesStream, open_stream
from tests.hub.anomaly.conftest import HOUR, series

RECORDING = Path(__file__).parents[3] / "bench" / "anomaly" / "recordings" / "machine.csv.gz"
# Recorded on this machine at 1 s by the agent's own sources (bench/anomaly/record_machine.py):
# a busy CPU, a sparse count-like one (steal), a disk write rate (log scale), memory.
RECORDED = (
    "cpu.percent{cpu=total}",
    "cpu.steal{cpu=total}",
    "diskio.write_bytes_per_s{device=vda}",
    "mem.used",
)


def recorded() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    columns: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    with gzip.open(RECORDING, "rt", newline="") as fh:
        for ts, metric, labels, value in csv.reader(fh):
            key = f"{metric}{{{labels}}}" if labels else metric
            if key in RECORDED:
                columns[key][0].append(int(ts))
                columns[key][1].append(float(value))
    return {k: (np.array(t, dtype=np.int64), np.array(v)) for k, (t, v) in columns.items()}


def synthetic() -> dict[str, tuple[str, np.ndarray, np.ndarray]]:
    """metric -> timestamps and values: a cycle with a spike and a shift, a rate on a log scale,
    irregular spacing with a gap, hourly data, and a flat series that starts to move."""
    out = {}
    ts, v = series(days=2.5, cycle=8.0, seed=4)
    v[2500] += 60.0
    v[3000:] += 25.0
    out["cycle"] = ("cpu.percent", ts, v)
    ts, v = series(days=1.5, level=2e6, sigma=3e5, seed=5)
    v[1200:1260] *= 6.0
    out["rate"] = ("net.rx_bytes_per_s", ts, v)
    rng = np.random.default_rng(6)
    gaps = rng.exponential(40_000, 3000).astype(np.int64) + 1
    gaps[1500] = 6 * HOUR
    ts = 1_767_571_200_000 + np.cumsum(gaps)
    out["irregular"] = ("sensors.temp", ts, 20 + rng.standard_t(2, 3000))
    ts, v = series(days=40, step_ms=HOUR, cycle=3.0, seed=7)
    out["hourly"] = ("mem.used_percent", ts, v)
    flat = np.zeros(2000)
    flat[900:] = rng.poisson(3.0, 1100)
    out["flat_then_counts"] = (
        "net.rx_packets_per_s",
        1_767_571_200_000 + np.arange(2000) * 1000,
        flat,
    )
    return out


def scalar(stream: SeriesStream, ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Rows of (score, low, high, flag), point by point."""
    return np.array([stream.push(int(t), float(v)) for t, v in zip(ts, values, strict=True)])


def assert_same(got: np.ndarray, result) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_allclose(got[:, 0], result.score, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got[:, 3].astype(bool), result.flag)
    for col, want in ((1, result.low), (2, result.high)):
        np.testing.assert_allclose(got[:, col], want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("key", RECORDED)
def test_recorded_series_score_the_same_as_the_engine(engine, key: str) -> None:
    ts, values = recorded()[key]
    metric = key.split("{")[0]
    want = engine().detect(["s"], [ts], [values], [metric])
    got = scalar(open_stream({}, metric), ts, values)  # type: ignore[arg-type]
    assert_same(got, want)


@pytest.mark.parametrize("name", list(synthetic()))
def test_synthetic_series_score_the_same_as_the_engine(engine, name: str) -> None:
    metric, ts, values = synthetic()[name]
    want = engine().detect(["s"], [ts], [values], [metric])
    assert want.flag.any() or name == "hourly"  # the comparison covers alarms, not only calm
    got = scalar(open_stream({}, metric), ts, values)  # type: ignore[arg-type]
    assert_same(got, want)


def test_sensitivity_rules_and_none_choose_as_the_engine_does(engine) -> None:
    config = {
        "sensitivity": 2.0,
        "warmup": 10,
        "rules": [{"metric": "agent.*", "detector": "none"}, {"metric": "cpu.*", "warmup": 30}],
    }
    ts, values = series(days=0.3, seed=8)
    for metric in ("cpu.percent", "agent.queue", "disk.used"):
        want = engine(config).detect(["s"], [ts], [values], [metric])
        got = scalar(open_stream(config, metric), ts, values)  # type: ignore[arg-type]
        assert_same(got, want)


def test_a_snapshot_resumes_bit_identically_and_crosses_to_the_hub(engine) -> None:
    _, ts, values = synthetic()["cycle"]
    whole = scalar(open_stream({}, "cpu.percent"), ts, values)  # type: ignore[arg-type]
    first = open_stream({}, "cpu.percent")
    assert first is not None
    scalar(first, ts[:2000], values[:2000])
    blob = first.snapshot()
    resumed = open_stream({}, "cpu.percent")
    assert resumed is not None
    resumed.restore(blob)
    assert resumed.snapshot() == blob
    np.testing.assert_array_equal(scalar(resumed, ts[2000:], values[2000:]), whole[2000:])
    # The hub restores the stream's snapshot, and continues as the stream does.
    hub = engine()
    hub.restore({"s": blob})
    rest = hub.detect(["s"], [ts[2000:]], [values[2000:]], ["cpu.percent"])
    assert_same(whole[2000:], rest)


def test_a_snapshot_of_another_detector_is_refused() -> None:
    robust = open_stream({}, "cpu.percent")
    none = open_stream({"detector": "none"}, "cpu.percent")
    assert robust is not None and none is not None
    robust.push(1, 1.0)
    with pytest.raises(SnapshotError, match="does not fit"):
        none.restore(robust.snapshot())
    with pytest.raises(SnapshotError, match="corrupt"):
        robust.restore(b"HPA1")


def test_a_plugin_detector_has_no_scalar_step() -> None:
    assert open_stream({"rules": [{"metric": "x.*", "detector": "ceiling"}]}, "cpu.percent") is None
