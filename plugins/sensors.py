"""Hardware temperatures and fan speeds, where the host exposes them (nothing otherwise)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import psutil

from hostpulse import Option, Sample, Source, hookimpl


class Sensors(Source):
    """Temperatures (°C) and fan speeds (RPM) from the host's hardware monitors."""

    name = "sensors"
    interval = 10.0
    options: ClassVar[dict[str, Option]] = {
        "fans": Option(bool, default=True, help="also report fan speeds"),
    }

    def collect(self) -> Iterator[Sample]:
        # psutil has no sensors_* functions on platforms without support (macOS temperatures).
        read_temperatures = getattr(psutil, "sensors_temperatures", None)
        if read_temperatures is not None:
            yield from _readings(read_temperatures(), "hw.temperature", "°C")
        read_fans = getattr(psutil, "sensors_fans", None)
        if read_fans is not None and self.config["fans"]:
            yield from _readings(read_fans(), "hw.fan_speed", "RPM")


def _readings(chips: dict[str, list[Any]], metric: str, unit: str) -> Iterator[Sample]:
    for chip, entries in sorted(chips.items()):
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            # Unlabelled sensors are common (acpitz, nvme); two with one label happen too.
            sensor = entry.label or str(index)
            if sensor in seen:
                sensor = f"{sensor} #{index}"
            seen.add(sensor)
            value = entry.current
            if value is None or not math.isfinite(value):
                continue
            yield Sample(metric, float(value), {"chip": chip, "sensor": sensor}, unit)


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Sensors]
