"""Network traffic, packets, errors and drops per interface, in per-second rates."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psutil

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.plugins.names import NameFilter
from hostpulse.plugins.rates import Rates

#: (counter field, metric, unit)
COUNTERS = (
    ("bytes_recv", "net.rx_bytes_per_s", "B/s"),
    ("bytes_sent", "net.tx_bytes_per_s", "B/s"),
    ("packets_recv", "net.rx_packets_per_s", "packets/s"),
    ("packets_sent", "net.tx_packets_per_s", "packets/s"),
    ("errin", "net.rx_errors_per_s", "errors/s"),
    ("errout", "net.tx_errors_per_s", "errors/s"),
    ("dropin", "net.rx_drops_per_s", "packets/s"),
    ("dropout", "net.tx_drops_per_s", "packets/s"),
)

_LOOPBACK = re.compile(r"lo\d*")  # "lo" on Linux, "lo0" on the BSDs and macOS


class Net(Source):
    """Bytes, packets, errors and drops per second on each network interface."""

    name = "net"
    interval = 1.0
    options: ClassVar[dict[str, Option]] = {
        "interfaces": Option(list, items=str, default=[], help="only interfaces matching these globs (empty: all)"),
        "exclude": Option(list, items=str, default=[], help='skip interfaces matching these globs, e.g. ["veth*"]'),
        "include_loopback": Option(bool, default=False, help="also report the loopback interface"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The monotonic clock used for rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())
        self._keep = NameFilter(self.config["interfaces"], self.config["exclude"])

    def collect(self) -> Iterator[Sample]:
        self._rates.tick()
        # nowrap (psutil's default) keeps 32-bit counters growing across their wrap.
        counters = psutil.net_io_counters(pernic=True)
        for iface, io in counters.items():
            if not self.config["include_loopback"] and _LOOPBACK.fullmatch(iface):
                continue
            if not self._keep(iface):
                continue
            if io.packets_recv == 0 and io.packets_sent == 0:
                continue  # never carried a packet (a spare ifb or dummy): no series to show
            rates = self._rates.rates(iface, {field: getattr(io, field) for field, _, _ in COUNTERS})
            if rates is None:
                continue  # first reading, or the counters restarted (driver reloaded)
            labels = {"iface": iface}
            for field, metric, unit in COUNTERS:
                yield Sample(metric, rates[field], labels, unit)


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Net]
