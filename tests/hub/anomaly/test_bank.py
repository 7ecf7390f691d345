"""The bank's bookkeeping: chunking, snapshots, cold start and bad input never change the maths."""

from __future__ import annotations

import numpy as np
import pytest

from hostpulse.hub.anomaly import SnapshotError
from tests.hub.anomaly.conftest import DAY, MINUTE, T0, series


def run_in_chunks(engine, ts, values, sizes, metric="cpu.percent"):
    out = []
    lo = 0
    for size in sizes:
        res = engine.detect(["a"], [ts[lo : lo + size]], [values[lo : lo + size]], [metric])
        out.append(np.stack([res.score, res.low, res.high, res.flag]))
        lo += size
    return np.concatenate(out, axis=1)


def test_chunking_does_not_change_results(engine) -> None:
    ts, values = series(days=2, cycle=10.0)
    values[2000] += 40
    whole = run_in_chunks(engine(), ts, values, [len(ts)])
    rng = np.random.default_rng(0)
    sizes = list(rng.integers(1, 12, size=len(ts)))
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), len(ts))]
    sizes.append(len(ts) - sum(sizes))
    np.testing.assert_array_equal(run_in_chunks(engine(), ts, values, sizes), whole)


def test_series_in_one_batch_do_not_interfere(engine) -> None:
    ts, a = series(days=1, seed=1)
    _, b = series(days=1, level=500.0, sigma=50.0, seed=2)
    together = engine().detect([1, 2], [ts, ts[:700]], [a, b[:700]], ["cpu.percent"] * 2)
    alone = engine().detect([2], [ts[:700]], [b[:700]], ["cpu.percent"])
    np.testing.assert_array_equal(together.series(1)[0], alone.score)
    np.testing.assert_array_equal(together.series(1)[1], alone.low)


def test_restoring_mid_stream_gives_identical_scores(engine) -> None:
    ts, values = series(days=3, cycle=10.0, seed=3)
    values[3500] += 50
    cut = int(1.7 * DAY / MINUTE)
    straight = engine().detect(["s"], [ts], [values], ["cpu.percent"])

    first = engine()
    first.detect(["s"], [ts[:cut]], [values[:cut]], ["cpu.percent"])
    blobs = first.snapshot(["s"])
    assert set(blobs) == {"s"} and isinstance(blobs["s"], bytes)

    resumed = engine()  # a restarted hub
    resumed.restore(blobs)
    assert resumed.snapshot() == blobs  # not seen yet: handed back as restored
    rest = resumed.detect(["s"], [ts[cut:]], [values[cut:]], ["cpu.percent"])
    np.testing.assert_array_equal(rest.score, straight.score[cut:])
    np.testing.assert_array_equal(rest.low, straight.low[cut:])
    np.testing.assert_array_equal(rest.flag, straight.flag[cut:])


def test_a_snapshot_for_another_detector_starts_afresh(engine, caplog) -> None:
    ts, values = series(days=0.5)
    first = engine()
    first.detect(["s"], [ts], [values], ["cpu.percent"])
    blob = first.snapshot()["s"]
    other = engine({"detector": "none"})
    other.restore({"s": blob})
    res = other.detect(["s"], [ts[:3]], [values[:3]], ["cpu.percent"])
    assert "starts afresh" in caplog.text
    assert res.detector == ["none"]


def test_corrupt_snapshot_is_refused(engine) -> None:
    bank = engine()._banks[0]
    with pytest.raises(SnapshotError):
        bank.restore("x", b"HPA1\x00")
    with pytest.raises(SnapshotError):
        bank.restore("x", b"nonsense" * 10)


@pytest.mark.parametrize(
    ("name", "ts", "values"),
    [
        ("constant", T0 + MINUTE * np.arange(500), np.full(500, 42.0)),
        ("constant zero", T0 + MINUTE * np.arange(500), np.zeros(500)),
        ("single sample", np.array([T0]), np.array([3.0])),
        ("duplicate timestamps", np.full(300, T0), np.arange(300.0)),
        ("out of order", T0 + MINUTE * np.arange(300)[::-1], np.sin(np.arange(300.0))),
        ("huge values", T0 + MINUTE * np.arange(300), np.tile([1e308, -1e308, 0.0], 100)),
        ("tiny values", T0 + MINUTE * np.arange(300), np.tile([5e-324, 0.0, -5e-324], 100)),
        ("gaps", T0 + np.cumsum(np.tile([1, 10 * DAY, MINUTE], 100)), np.arange(300.0)),
        ("epoch zero", np.arange(300), np.ones(300)),
    ],
)
def test_bad_input_gives_finite_scores(engine, name, ts, values) -> None:
    res = engine().detect(["s"], [ts], [values], ["cpu.percent"])
    assert np.isfinite(res.score).all(), name
    assert ((res.score >= 0) & (res.score <= 1)).all(), name
    assert not np.isnan(res.low).any() and not np.isnan(res.high).any(), name


def test_a_constant_series_that_moves_is_flagged(engine) -> None:
    ts = T0 + MINUTE * np.arange(200)
    values = np.full(200, 42.0)
    values[150] = 43.0
    res = engine().detect(["s"], [ts], [values], ["cpu.percent"])
    assert np.flatnonzero(res.flag).tolist() == [150]


def test_non_finite_values_are_refused(engine) -> None:
    with pytest.raises(ValueError, match="finite"):
        engine().detect(["s"], [np.array([T0])], [np.array([np.nan])])
