"""Seconds since the host booted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil

from hostpulse import Sample, Source, hookimpl


class Uptime(Source):
    """Time since boot; a drop to near zero on a chart is a reboot."""

    name = "uptime"
    interval = 10.0

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The wall clock; tests put a fake one here.
        self.clock: Callable[[], float] = time.time

    def collect(self) -> Iterator[Sample]:
        yield Sample("system.uptime", max(0.0, self.clock() - psutil.boot_time()), unit="s")


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Uptime]
