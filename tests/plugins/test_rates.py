from __future__ import annotations

from recorded import FakeClock

from hostpulse.plugins.rates import Rates


def test_rate_from_the_second_reading_and_resets_skipped(clock: FakeClock) -> None:
    rates = Rates(clock)
    assert rates.tick() is None
    assert rates.rate("a", 100.0) is None
    clock.advance(4.0)
    assert rates.tick() == 4.0
    assert rates.rate("a", 300.0) == 50.0
    clock.advance(1.0)
    rates.tick()
    assert rates.rate("a", 10.0) is None  # went back: reset or wrap
    clock.advance(1.0)
    rates.tick()
    assert rates.rate("a", 15.0) == 5.0


def test_counters_missing_from_a_round_are_forgotten(clock: FakeClock) -> None:
    rates = Rates(clock)
    rates.tick()
    rates.rate("eth1", 5.0)
    clock.advance(1.0)
    rates.tick()  # eth1 unplugged this round
    clock.advance(1.0)
    rates.tick()
    assert rates.rate("eth1", 9.0) is None


def test_grouped_counters_are_all_or_nothing(clock: FakeClock) -> None:
    rates = Rates(clock)
    rates.tick()
    assert rates.rates("sda", {"reads": 10, "writes": 0}) is None
    clock.advance(2.0)
    rates.tick()
    assert rates.rates("sda", {"reads": 20, "writes": 0}) == {"reads": 5.0, "writes": 0.0}
    clock.advance(2.0)
    rates.tick()
    assert rates.rates("sda", {"reads": 1, "writes": 0}) is None


def test_no_time_elapsed_gives_no_rate(clock: FakeClock) -> None:
    rates = Rates(clock)
    rates.tick()
    rates.rate("a", 1.0)
    rates.tick()
    assert rates.rate("a", 2.0) is None
