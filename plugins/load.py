"""Load averages over 1, 5 and 15 minutes, and the CPU count to read them against."""

from __future__ import annotations

from collections.abc import Iterator

import psutil

from hostpulse import Sample, Source, hookimpl


class Load(Source):
    """System load averages (runnable plus uninterruptible tasks, as the kernel counts them)."""

    name = "load"
    # The kernel refreshes its load averages every 5 seconds; reading them faster shows nothing new.
    interval = 5.0

    def collect(self) -> Iterator[Sample]:
        one, five, fifteen = psutil.getloadavg()
        yield Sample("load.1m", float(one))
        yield Sample("load.5m", float(five))
        yield Sample("load.15m", float(fifteen))
        yield Sample("load.cpus", float(psutil.cpu_count() or 1))


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Load]
