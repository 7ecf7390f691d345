"""Memory and swap: sizes in bytes, use in percent, swap traffic in bytes per second."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil

from hostpulse import Sample, Source, hookimpl
from hostpulse.plugins.rates import Rates


class Memory(Source):
    """Physical memory and swap use."""

    name = "memory"
    interval = 1.0

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The monotonic clock used for rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())

    def collect(self) -> Iterator[Sample]:
        vm = psutil.virtual_memory()
        yield Sample("mem.total", float(vm.total), unit="B")
        yield Sample("mem.used", float(vm.used), unit="B")
        yield Sample("mem.available", float(vm.available), unit="B")
        yield Sample("mem.percent", float(vm.percent), unit="%")
        self._rates.tick()
        swap = psutil.swap_memory()
        yield Sample("swap.total", float(swap.total), unit="B")
        yield Sample("swap.used", float(swap.used), unit="B")
        yield Sample("swap.percent", float(swap.percent), unit="%")
        # sin/sout are cumulative bytes swapped in/out since boot (0 where the OS does not say).
        for metric, value in (("swap.in_bytes_per_s", swap.sin), ("swap.out_bytes_per_s", swap.sout)):
            rate = self._rates.rate(metric, float(value))
            if rate is not None:
                yield Sample(metric, rate, unit="B/s")


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Memory]
