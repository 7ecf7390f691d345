"""Disk I/O per device: bytes and operations per second, and the share of time the disk was busy."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psutil

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.plugins.names import NameFilter
from hostpulse.plugins.rates import Rates

#: Linux lists whole disks here (partitions live below them); absent on other systems.
SYS_BLOCK = "/sys/block"

#: (counter field, metric, unit)
COUNTERS = (
    ("read_bytes", "diskio.read_bytes_per_s", "B/s"),
    ("write_bytes", "diskio.write_bytes_per_s", "B/s"),
    ("read_count", "diskio.reads_per_s", "ops/s"),
    ("write_count", "diskio.writes_per_s", "ops/s"),
)


class DiskIO(Source):
    """Read and write throughput, operations and busy time per block device."""

    name = "diskio"
    interval = 1.0
    options: ClassVar[dict[str, Option]] = {
        "devices": Option(list, items=str, default=[], help="only devices matching these globs (empty: all)"),
        "exclude": Option(list, items=str, default=["loop*", "ram*"], help="skip devices matching these globs"),
        "partitions": Option(bool, default=False, help="also report partitions (sda1), not just disks"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The monotonic clock used for rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())
        self._keep = NameFilter(self.config["devices"], self.config["exclude"])

    def collect(self) -> Iterator[Sample]:
        self._rates.tick()
        counters = psutil.disk_io_counters(perdisk=True) or {}
        disks = None if self.config["partitions"] else _whole_disks()
        for device, io in counters.items():
            if not self._keep(device) or (disks is not None and device not in disks):
                continue
            if io.read_count == 0 and io.write_count == 0:
                continue  # never used since boot (spare loop, unused zram): no series to show
            fields = {field: getattr(io, field) for field, _, _ in COUNTERS}
            if hasattr(io, "busy_time"):  # Linux and FreeBSD only
                fields["busy_time"] = io.busy_time
            rates = self._rates.rates(device, fields)
            if rates is None:
                continue  # first reading, or the counters restarted (device re-attached)
            labels = {"device": device}
            for field, metric, unit in COUNTERS:
                yield Sample(metric, rates[field], labels, unit)
            if "busy_time" in rates:
                # busy_time counts milliseconds: ms per second / 10 = percent of the time.
                yield Sample("diskio.busy_percent", min(100.0, rates["busy_time"] / 10.0), labels, "%")


def _whole_disks() -> set[str] | None:
    try:
        return set(os.listdir(SYS_BLOCK))
    except OSError:
        return None


@hookimpl
def register_sources() -> list[type[Source]]:
    return [DiskIO]
