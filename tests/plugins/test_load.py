from __future__ import annotations

import pytest
from recorded import by_key, collect, key

from hostpulse.plugins import load
from hostpulse.plugins.load import Load


async def test_load_averages(monkeypatch: pytest.MonkeyPatch) -> None:
    # psutil.getloadavg() and cpu_count() as recorded on a busy 2-core VM.
    monkeypatch.setattr(load.psutil, "getloadavg", lambda: (2.51953125, 1.2001953125, 0.45))
    monkeypatch.setattr(load.psutil, "cpu_count", lambda logical=True: 2)
    assert by_key(await collect(Load())) == {
        key("load.1m"): 2.51953125, key("load.5m"): 1.2001953125, key("load.15m"): 0.45,
        key("load.cpus"): 2.0,
    }
