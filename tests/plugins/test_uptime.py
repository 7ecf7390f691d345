from __future__ import annotations

import pytest
from recorded import collect

from hostpulse.plugins import uptime
from hostpulse.plugins.uptime import Uptime


async def test_seconds_since_boot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uptime.psutil, "boot_time", lambda: 1795631825.0)
    source = Uptime()
    source.clock = lambda: 1795631825.0 + 3 * 86400 + 12.5
    (sample,) = await collect(source)
    assert (sample.metric, sample.value, sample.unit) == ("system.uptime", 259212.5, "s")
    source.clock = lambda: 1795631825.0 - 3  # the wall clock stepped back after boot
    (sample,) = await collect(source)
    assert sample.value == 0.0
