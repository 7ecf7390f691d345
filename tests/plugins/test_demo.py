from __future__ import annotations

import statistics
from itertools import pairwise

import pytest
from recorded import FakeClock, collect

from hostpulse.agent.errors import ConfigError
from hostpulse.plugins.demo import DemoRandom, DemoSensor, DemoSpikes


async def stream(source: DemoRandom | DemoSensor | DemoSpikes, ticks: int) -> dict[str, list[float]]:
    series: dict[str, list[float]] = {}
    clock = FakeClock(1_795_000_000.0)
    source.wall = clock
    for _ in range(ticks):
        for sample in await collect(source):
            series.setdefault(sample.metric, []).append(sample.value)
        clock.advance(1.0)
    return series


async def test_random_stays_in_range_and_a_seed_repeats_it() -> None:
    values = (await stream(DemoRandom(low=10, high=20, seed=7), 500))["demo.random"]
    assert all(10 <= v <= 20 for v in values)
    assert max(values) - min(values) > 9  # it does spread over the range
    assert (await stream(DemoRandom(low=10, high=20, seed=7), 500))["demo.random"] == values
    assert (await stream(DemoRandom(low=10, high=20, seed=8), 500))["demo.random"] != values


async def test_sensor_is_smooth_plausible_and_cycles() -> None:
    series = await stream(DemoSensor(period=600, seed=1), 1200)
    temperature, humidity, pressure = (
        series["sensor.temperature"], series["sensor.humidity"], series["sensor.pressure"]
    )
    assert 15 < min(temperature) and max(temperature) < 27
    assert max(temperature) - min(temperature) > 5  # a visible warm-cold cycle
    assert all(0 <= h <= 100 for h in humidity)
    assert 980 < min(pressure) and max(pressure) < 1045
    for values, step in ((temperature, 0.3), (humidity, 1.0), (pressure, 0.3)):
        assert max(abs(b - a) for a, b in pairwise(values)) < step  # smooth, not jumpy
    # Relative humidity falls as the air warms.
    assert statistics.correlation(temperature, humidity) < -0.8


async def test_spikes_around_the_baseline_at_the_configured_rate() -> None:
    values = (await stream(DemoSpikes(seed=3, rate=0.05), 4000))["demo.spikes"]
    spikes = [v for v in values if abs(v - 50) > 12]
    assert 0.03 < len(spikes) / len(values) < 0.07
    assert {v > 50 for v in spikes} == {True, False}  # both up and down
    assert all(abs(abs(v - 50) - 20) < 10 for v in spikes)
    ordinary = [v for v in values if abs(v - 50) <= 12]
    assert abs(statistics.mean(ordinary) - 50) < 0.5
    quiet = (await stream(DemoSpikes(seed=3, rate=0.0), 2000))["demo.spikes"]
    assert all(abs(v - 50) < 12 for v in quiet)


def test_demo_sources_are_off_unless_enabled_and_check_their_options() -> None:
    assert not any(cls.default_enabled for cls in (DemoRandom, DemoSensor, DemoSpikes))
    with pytest.raises(ConfigError, match=r"plugins\.demo_spikes\.rate = 2\.0"):
        DemoSpikes(rate=2.0)
    with pytest.raises(ConfigError, match=r"plugins\.demo_random\.high = 1\.0"):
        DemoRandom(low=5, high=1)
    with pytest.raises(ConfigError, match=r"plugins\.demo_sensor\.period = 0\.0"):
        DemoSensor(period=0)
