from __future__ import annotations

import logging
import socket

import pytest
from recorded import DATA, FakeClock, by_key, collect, key
from servers import serve

from hostpulse.agent.errors import ConfigError
from hostpulse.plugins.prometheus import Prometheus

PROM = {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_scrapes_a_served_exposition_into_gauges_and_rates(clock: FakeClock) -> None:
    pages = [(DATA / name).read_bytes() for name in ("node_exporter_1.prom", "node_exporter_2.prom")]
    with serve({"/metrics": lambda: (200, PROM, pages.pop(0))}) as base:
        source = Prometheus(urls=[f"{base}/metrics"])
        source.clock = clock
        instance = base.removeprefix("http://")
        first = by_key(await collect(source))
        clock.advance(10.0)
        second = by_key(await collect(source))
    assert first[key("prom.up", instance=instance)] == 1.0
    assert first[key("prom.node_load1", instance=instance)] == 0.52
    assert key("prom.node_cpu_seconds_per_s", cpu="0", mode="user", instance=instance) not in first
    assert second[key("prom.node_cpu_seconds_per_s", cpu="0", mode="user", instance=instance)] == 0.2
    assert second[key("prom.node_network_receive_bytes_per_s", device="eth0", instance=instance)] == 10_000.0
    assert second[key("prom.node_filesystem_avail_bytes", device="/dev/nvme0n1p2", fstype="ext4",
                      mountpoint="/", instance=instance)] == 84176322560.0


async def test_a_down_target_is_up_zero_and_the_others_still_come(caplog: pytest.LogCaptureFixture) -> None:
    closed = f"127.0.0.1:{free_port()}"
    with serve({"/metrics": (200, PROM, b"app_requests_in_flight 3\n"),
                "/broken": (500, {}, b"oops")}) as base:
        urls = [f"{base}/metrics", f"{base}/broken", f"http://{closed}/metrics"]
        with caplog.at_level(logging.WARNING, logger="hostpulse.plugins.prometheus"):
            samples = await collect(Prometheus(urls=urls, scrape_timeout=2.0))
    # Two targets on one host:port are told apart by their path.
    instance = base.removeprefix("http://") + "/metrics"
    ups = [(s.labels["instance"], s.value) for s in samples if s.metric == "prom.up"]
    assert ups == [(instance, 1.0), (instance.replace("/metrics", "/broken"), 0.0), (closed, 0.0)]
    assert by_key(samples)[key("prom.app_requests_in_flight", instance=instance)] == 3.0
    assert "500" in caplog.text


async def test_max_series_bounds_a_huge_exporter() -> None:
    page = "".join(f'big{{n="{n}"}} {n}\n' for n in range(5000)).encode()
    with serve({"/metrics": (200, PROM, page)}) as base:
        samples = await collect(Prometheus(urls=[f"{base}/metrics"], max_series=100, prefix="x"))
    assert len([s for s in samples if s.metric == "x.big"]) == 100


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.prometheus\.urls = missing"):
        Prometheus()
    with pytest.raises(ConfigError, match=r"plugins\.prometheus\.urls = 'localhost:9100'"):
        Prometheus(urls=["localhost:9100"])
    assert Prometheus.default_enabled is False
