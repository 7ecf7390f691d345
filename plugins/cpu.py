"""CPU utilisation in percent, total and per core, from ``psutil.cpu_times`` deltas.

Percentages come from the difference between two readings of the kernel's cumulative CPU times,
kept in the source instance (not psutil.cpu_percent's hidden module state), so two sources never
disturb each other and a test can feed recorded readings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, NamedTuple

import psutil

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.agent.errors import ConfigError

#: Every mode psutil reports on some platform; which ones exist depends on the OS.
KNOWN_MODES = (
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice",
    "interrupt", "dpc",
)
DEFAULT_MODES = ["user", "system", "iowait", "steal"]


class Cpu(Source):
    """CPU busy percent and time per mode, for the whole machine and each core."""

    name = "cpu"
    interval = 1.0
    options: ClassVar[dict[str, Option]] = {
        "per_cpu": Option(bool, default=True, help='also report each core (label cpu="0", "1", …)'),
        "modes": Option(list, items=str, default=DEFAULT_MODES,
                        help=f"modes reported as cpu.<mode>, among {', '.join(KNOWN_MODES)}"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        self._previous: dict[str, NamedTuple] = {}

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        checked = super().validate(config)
        for mode in checked["modes"]:
            if mode not in KNOWN_MODES:
                raise ConfigError(f"plugins.{cls.name}.modes", mode, f"one of {', '.join(KNOWN_MODES)}")
        return checked

    def collect(self) -> list[Sample]:
        samples = list(self._percentages("total", psutil.cpu_times()))
        if self.config["per_cpu"]:
            for index, times in enumerate(psutil.cpu_times(percpu=True)):
                samples.extend(self._percentages(str(index), times))
        return samples

    def _percentages(self, cpu: str, times: NamedTuple) -> Iterator[Sample]:
        before = self._previous.get(cpu)
        self._previous[cpu] = times
        now = times._asdict()
        # The first reading is compared with boot (all zeros), as vmstat's first line is: an
        # average since boot beats an empty chart and a blocking sleep inside collect().
        then = before._asdict() if before is not None else dict.fromkeys(now, 0.0)
        # One field may step back a little (Linux iowait is known to); psutil clamps it too.
        deltas = {mode: max(0.0, now[mode] - then.get(mode, 0.0)) for mode in now}
        # On Linux guest time is already counted in user/nice.
        elapsed = sum(now.values()) - sum(then.values())
        elapsed -= (now.get("guest", 0.0) - then.get("guest", 0.0))
        elapsed -= (now.get("guest_nice", 0.0) - then.get("guest_nice", 0.0))
        if elapsed <= 0:
            # Counters went back (a core was re-plugged) or no tick passed: no honest figure.
            return
        all_time = sum(deltas.values()) - deltas.get("guest", 0.0) - deltas.get("guest_nice", 0.0)
        busy = all_time - deltas.get("idle", 0.0) - deltas.get("iowait", 0.0)
        labels = {"cpu": cpu}
        yield Sample("cpu.percent", _percent(busy, all_time), labels, "%")
        for mode in self.config["modes"]:
            if mode in deltas:
                yield Sample(f"cpu.{mode}", _percent(deltas[mode], all_time), labels, "%")


def _percent(part: float, whole: float) -> float:
    return round(min(100.0, max(0.0, part / whole * 100.0)), 2)


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Cpu]
