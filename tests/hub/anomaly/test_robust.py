"""The default detector on small synthetic series: each kind of anomaly found, noise left alone."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hub.anomaly.conftest import DAY, HOUR, MINUTE, T0, series

START = T0 + int(2.5 * DAY)


def first_flag_after(result, ts: np.ndarray, start: int) -> float:
    """Minutes from ``start`` to the first flagged point at or after it (inf if none)."""
    hit = ts[result.flag & (ts >= start)]
    return (hit[0] - start) / MINUTE if len(hit) else float("inf")


def flags_before(result, ts: np.ndarray, start: int) -> int:
    return int((result.flag & (ts < start)).sum())


def test_spike_is_flagged_at_once(score) -> None:
    ts, values = series(cycle=10.0)
    at = np.searchsorted(ts, START)
    values[at] += 30.0  # 10 sigma
    result = score(ts, values)
    assert first_flag_after(result, ts, START) == 0
    assert result.score[at] > 0.9
    assert not result.flag[at + 5 :].any()
    assert flags_before(result, ts, START) == 0


def test_level_shift_is_flagged(score) -> None:
    ts, values = series(cycle=10.0, seed=1)
    values[ts >= START] += 18.0  # 6 sigma, for good
    result = score(ts, values)
    assert first_flag_after(result, ts, START) <= 5
    assert flags_before(result, ts, START) == 0


def test_variance_increase_is_flagged(score) -> None:
    ts, values = series(cycle=10.0, seed=2)
    inside = (ts >= START) & (ts < START + 4 * HOUR)
    rng = np.random.default_rng(9)
    values[inside] += 9.0 * rng.standard_normal(int(inside.sum()))  # noise x3 and more
    result = score(ts, values)
    assert first_flag_after(result, ts, START) <= 60
    assert flags_before(result, ts, START) == 0


def test_slow_drift_is_flagged_before_it_is_large(score) -> None:
    ts, values = series(seed=3)
    ramp = np.clip((ts - START) / (6 * HOUR), 0, None) * 12.0  # 4 sigma per 6 h, on and on
    values += ramp
    result = score(ts, values)
    delay = first_flag_after(result, ts, START)
    assert delay <= 6 * 60
    # Found while the drift is still within the point band: no single point looks odd yet.
    assert ramp[np.searchsorted(ts, START + delay * MINUTE)] < 6 * 3.0
    assert flags_before(result, ts, START) == 0


def test_broken_daily_cycle_is_flagged(score) -> None:
    ts, values = series(days=4, cycle=15.0, sigma=2.0, seed=4)
    start = T0 + 3 * DAY + 6 * HOUR
    phase = 2 * np.pi * ((ts % DAY) / DAY - 13 / 24)
    # From 06:00 the day runs 12 h out of phase: busy at night, idle at noon.
    values[ts >= start] -= 30.0 * np.cos(phase[ts >= start])
    result = score(ts, values)
    assert first_flag_after(result, ts, start) <= 6 * 60
    assert flags_before(result, ts, start) == 0


def test_the_daily_cycle_is_learned_into_the_band(score) -> None:
    ts, values = series(days=4, cycle=20.0, sigma=2.0, seed=5)
    result = score(ts, values)
    last_day = ts >= T0 + 3 * DAY
    middle = (result.low + result.high) / 2
    # The band follows the cycle (a 40-wide swing) to within a few sigma.
    assert np.abs(middle[last_day] - values[last_day]).mean() < 3 * 2.0
    assert not result.flag.any()


@pytest.mark.parametrize("seed", [10, 11, 12])
def test_busy_noisy_cpu_stays_quiet(score, seed: int) -> None:
    """A busy host: high level, large autocorrelated noise, pinned at 100 now and then."""
    rng = np.random.default_rng(seed)
    ts, _ = series(days=3)
    noise = np.zeros(len(ts))
    for i in range(1, len(ts)):
        noise[i] = 0.6 * noise[i - 1] + rng.standard_normal()
    phase = 2 * np.pi * ((ts % DAY) / DAY - 14 / 24)
    values = np.clip(75 + 15 * np.cos(phase) + 10 * noise, 0, 100)
    result = score(ts, values)
    alarms = np.diff(np.flatnonzero(result.flag)) > 30  # runs more than 30 samples apart
    assert result.flag.sum() == 0 or alarms.sum() + 1 <= 1


def test_cold_start_raises_no_alarm(score) -> None:
    ts, values = series(days=0.05)
    values[5] += 1000.0  # an absurd value while the model knows nothing
    result = score(ts, values)
    assert not result.flag[:60].any()
    assert (result.score[:60] == 0).all()


def test_noise_scale_on_a_log_metric_follows_the_level(score) -> None:
    """net.* metrics are modelled on a log scale: bursty traffic with a 10x daily swing."""
    rng = np.random.default_rng(6)
    ts, _ = series(days=3)
    phase = 2 * np.pi * ((ts % DAY) / DAY - 13 / 24)
    values = 1e6 * np.exp(1.15 * np.cos(phase) + 0.2 * rng.standard_normal(len(ts)))
    assert not score(ts, values, "net.rx_bytes_per_s").flag.any()
    values[np.searchsorted(ts, START)] *= 10
    result = score(ts, values, "net.rx_bytes_per_s")
    assert first_flag_after(result, ts, START) == 0
    assert (result.low >= 0).all()


def idle_and_busy(seed: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """cpu.percent at 1 s as bench/anomaly/recordings/quiet.csv.gz shows it: idle at 3 with
    single-second spikes of +10 to +40 (2.5 % of the seconds), busy at 53 for 60 s of every 180
    from 180 s on. Each start and end of a busy stretch is a held shift as large as the spikes."""
    rng = np.random.default_rng(seed)
    n = 1500
    values = 3.0 + 0.7 * rng.standard_normal(n)
    spikes = rng.random(n) < 0.025
    values[spikes] += rng.uniform(10.0, 40.0, int(spikes.sum()))
    edges = []
    for start in range(180, n - 60, 180):
        values[start : start + 60] = 53.0 + 0.7 * rng.standard_normal(60)
        edges += [start, start + 60]
    return T0 + np.arange(n, dtype=np.int64) * 1000, values, edges


@pytest.mark.xfail(
    strict=True,
    reason="issue 14, not fixed: after the first busy stretch the level and scale are running "
    "means of the whole short history (level ~30, scale ~27 on the recording), so 3 -> 53 "
    "scores u 0.1-0.3; 13 of these 14 edges are missed",
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_held_shift_among_spikes_of_its_size_is_flagged(score, seed: int) -> None:
    ts, values, edges = idle_and_busy(seed)
    result = score(ts, values)
    useful = [e for e in edges if e >= 0.15 * len(ts)]  # the issue: useful after the first 15 %
    missed = [e for e in useful if not result.flag[e : e + 4].any()]
    near = np.zeros(len(ts), dtype=bool)
    for e in edges:
        near[e : e + 4] = True
    assert missed == [], f"{len(missed)} of {len(useful)} held shifts not flagged within 4 s"
    assert int((result.flag & ~near).sum()) <= 2  # the spikes, and the busy seconds, are not
