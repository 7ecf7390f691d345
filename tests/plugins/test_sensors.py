from __future__ import annotations

from typing import Any

import pytest
from recorded import as_tuple, by_key, collect, key, load

from hostpulse.plugins import sensors
from hostpulse.plugins.sensors import Sensors


def install(monkeypatch: pytest.MonkeyPatch, temperatures: dict[str, Any], fans: dict[str, Any]) -> None:
    def chips(recorded: dict[str, list[dict[str, Any]]], typename: str) -> Any:
        return lambda: {chip: [as_tuple(typename, e) for e in entries] for chip, entries in recorded.items()}

    monkeypatch.setattr(sensors.psutil, "sensors_temperatures", chips(temperatures, "shwtemp"), raising=False)
    monkeypatch.setattr(sensors.psutil, "sensors_fans", chips(fans, "sfan"), raising=False)


async def test_recorded_laptop(monkeypatch: pytest.MonkeyPatch) -> None:
    recording = load("sensors_laptop.json")
    install(monkeypatch, recording["temperatures"], recording["fans"])
    values = by_key(await collect(Sensors()))
    assert values == {
        key("hw.temperature", chip="acpitz", sensor="0"): 48.0,
        key("hw.temperature", chip="coretemp", sensor="Package id 0"): 52.0,
        key("hw.temperature", chip="coretemp", sensor="Core 0"): 49.0,
        key("hw.temperature", chip="coretemp", sensor="Core 1"): 52.0,
        key("hw.temperature", chip="coretemp", sensor="Core 0 #3"): 47.0,
        key("hw.temperature", chip="nvme", sensor="Composite"): 38.85,
        key("hw.temperature", chip="nvme", sensor="Sensor 1"): 38.85,
        key("hw.temperature", chip="nvme", sensor="Sensor 2"): 41.85,
        key("hw.fan_speed", chip="thinkpad", sensor="0"): 2831.0,
    }
    without_fans = by_key(await collect(Sensors(fans=False)))
    assert {metric for metric, _ in without_fans} == {"hw.temperature"}


async def test_a_host_without_sensors_emits_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, {}, {})
    assert await collect(Sensors()) == []
    # macOS and Windows psutil have no sensors_temperatures at all.
    monkeypatch.delattr(sensors.psutil, "sensors_temperatures")
    monkeypatch.delattr(sensors.psutil, "sensors_fans")
    assert await collect(Sensors()) == []
