"""Process counts by state, and the top N processes by CPU and by memory.

One pass of ``psutil.process_iter`` with ``attrs`` reads each process's stat and statm files once
(psutil's oneshot); at the default 10 s interval that is a small fraction of a percent of a core.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psutil

from agent import Option, Sample, Source, hookimpl
from agent.errors import ConfigError
from plugins.rates import Rates

ATTRS = ["pid", "name", "status", "create_time", "cpu_times", "memory_info"]
#: Always reported, zero or not, so the chart of each state is a continuous line.
STATES = ("running", "sleeping", "disk-sleep", "stopped", "zombie", "idle")


class Processes(Source):
    """How many processes are in each state, and which use the most CPU and memory."""

    name = "processes"
    interval = 10.0
    options: ClassVar[dict[str, Option]] = {
        "top": Option(int, default=5, help="processes reported by CPU and by memory (0: none, ≤ 50)"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The monotonic clock used for CPU rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())

    @classmethod
    def validate(cls, config: Any) -> dict[str, Any]:
        checked = super().validate(config)
        if not 0 <= checked["top"] <= 50:
            raise ConfigError(f"plugins.{cls.name}.top", checked["top"], "an integer from 0 to 50")
        return checked

    def collect(self) -> Iterator[Sample]:
        self._rates.tick()
        states: Counter[str] = Counter()
        by_cpu: list[tuple[float, int, str]] = []
        by_memory: list[tuple[float, int, str]] = []
        for proc in psutil.process_iter(ATTRS, ad_value=None):
            info = proc.info
            states[info["status"] or "unknown"] += 1
            pid, name = info["pid"], info["name"] or str(info["pid"])
            times = info["cpu_times"]
            if times is not None:
                # (pid, start time) names one process even after its pid is reused.
                busy = self._rates.rate((pid, info["create_time"]), times.user + times.system)
                if busy is not None:
                    by_cpu.append((busy * 100.0, pid, name))
            memory = info["memory_info"]
            if memory is not None:
                by_memory.append((float(memory.rss), pid, name))

        yield Sample("procs.total", float(sum(states.values())))
        for state in sorted(states.keys() | set(STATES)):
            yield Sample("procs.count", float(states[state]), {"state": state})
        top = self.config["top"]
        for percent, pid, name in heapq.nlargest(top, by_cpu):
            yield Sample("procs.top_cpu_percent", round(percent, 2), {"name": name, "pid": str(pid)}, "%")
        for rss, pid, name in heapq.nlargest(top, by_memory):
            yield Sample("procs.top_rss", rss, {"name": name, "pid": str(pid)}, "B")


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Processes]
