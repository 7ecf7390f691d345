from __future__ import annotations

from typing import Any

import pytest
from recorded import FakeClock, as_tuple, by_key, collect, key, load

from hostpulse.plugins import memory
from hostpulse.plugins.memory import Memory


def install(monkeypatch: pytest.MonkeyPatch, readings: list[dict[str, Any]]) -> None:
    queue = list(readings)
    current: dict[str, Any] = {}

    def virtual_memory() -> Any:
        current.update(queue.pop(0))
        return as_tuple("svmem", current["virtual"])

    monkeypatch.setattr(memory.psutil, "virtual_memory", virtual_memory)
    monkeypatch.setattr(memory.psutil, "swap_memory", lambda: as_tuple("sswap", current["swap"]))


async def test_recorded_machine_without_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [load("memory_linux.json")["noswap"]])
    values = by_key(await collect(Memory()))
    assert values == {
        key("mem.total"): 25276510208.0,
        key("mem.used"): 649895936.0,
        key("mem.available"): 24626614272.0,
        key("mem.percent"): 2.6,
        key("swap.total"): 0.0,
        key("swap.used"): 0.0,
        key("swap.percent"): 0.0,
    }


async def test_swap_traffic_becomes_a_rate_from_the_second_round(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    install(monkeypatch, load("memory_linux.json")["pressure"])
    source = Memory()
    source.clock = clock
    first = by_key(await collect(source))
    assert key("swap.in_bytes_per_s") not in first
    clock.advance(2.0)
    second = by_key(await collect(source))
    # 2 MiB in and 8 MiB out over 2 s.
    assert second[key("swap.in_bytes_per_s")] == 1048576.0
    assert second[key("swap.out_bytes_per_s")] == 4194304.0
    assert second[key("mem.percent")] == 92.8
    assert second[key("swap.used")] == 1726373888.0


async def test_units() -> None:
    samples = await collect(Memory())
    units = {sample.metric: sample.unit for sample in samples}
    assert units["mem.used"] == "B" and units["mem.percent"] == "%" and units["swap.percent"] == "%"
