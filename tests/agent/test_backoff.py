"""hostpulse.backoff: the one reconnect backoff of the agent's sender, the Redis bus and the token cache."""

from __future__ import annotations

from hostpulse.backoff import Backoff


def test_steps_double_up_to_the_cap_with_half_of_each_random():
    backoff = Backoff(base=0.1, cap=2.0)
    delays = [backoff.next() for _ in range(8)]
    steps = [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    assert all(step / 2 <= delay <= step for delay, step in zip(delays, steps, strict=True))


def test_failing_from_the_first_retry_until_reset():
    backoff = Backoff()
    assert not backoff.failing
    backoff.next()
    assert backoff.failing
    backoff.reset()
    assert not backoff.failing
    assert backoff.next() <= backoff.base
