from __future__ import annotations

from typing import Any

import pytest
from recorded import FakeClock, as_tuple, by_key, collect, key, load

from hostpulse.plugins import net
from hostpulse.plugins.net import Net


def install(monkeypatch: pytest.MonkeyPatch, snapshots: list[dict[str, dict[str, Any]]]) -> None:
    queue = list(snapshots)
    monkeypatch.setattr(net.psutil, "net_io_counters", lambda pernic=False: {
        name: as_tuple("snetio", fields) for name, fields in queue.pop(0).items()
    })


async def test_recorded_interfaces(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    recording = load("net_linux.json")
    before, after = recording["snapshots"]
    install(monkeypatch, recording["snapshots"])
    source = Net()
    source.clock = clock
    assert await collect(source) == []
    clock.advance(recording["elapsed"])
    values = by_key(await collect(source))
    # lo is skipped by default and the idle ifb0/ifb1 never carried a packet.
    assert {dict(labels)["iface"] for _, labels in values} == {"eth0"}
    assert len(values) == 8
    received = (after["eth0"]["bytes_recv"] - before["eth0"]["bytes_recv"]) / recording["elapsed"]
    assert values[key("net.rx_bytes_per_s", iface="eth0")] == pytest.approx(received, abs=0.001)
    assert values[key("net.rx_errors_per_s", iface="eth0")] == 0.0


def nic(rx: int, tx: int, errin: int = 0, dropout: int = 0) -> dict[str, int]:
    return {"bytes_sent": tx * 1000, "bytes_recv": rx * 1000, "packets_sent": tx, "packets_recv": rx,
            "errin": errin, "errout": 0, "dropin": 0, "dropout": dropout}


async def test_rates_errors_and_a_counter_reset(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    install(monkeypatch, [
        {"eth0": nic(1000, 500), "lo": nic(10, 10)},
        {"eth0": nic(1400, 600, errin=6, dropout=2), "lo": nic(20, 20)},
        {"eth0": nic(3, 3)},  # driver reloaded, lo gone from the listing
        {"eth0": nic(13, 3), "lo": nic(30, 30)},
    ])
    source = Net()
    source.clock = clock
    await collect(source)
    clock.advance(2.0)
    values = by_key(await collect(source))
    assert values[key("net.rx_bytes_per_s", iface="eth0")] == 200_000.0
    assert values[key("net.tx_packets_per_s", iface="eth0")] == 50.0
    assert values[key("net.rx_errors_per_s", iface="eth0")] == 3.0
    assert values[key("net.tx_drops_per_s", iface="eth0")] == 1.0
    assert key("net.rx_bytes_per_s", iface="lo") not in values
    clock.advance(1.0)
    assert await collect(source) == []
    clock.advance(1.0)
    assert by_key(await collect(source))[key("net.rx_packets_per_s", iface="eth0")] == 10.0


async def test_loopback_and_interface_options(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    reading = {"eth0": nic(1, 1), "lo": nic(1, 1), "veth12ab": nic(1, 1), "wlan0": nic(1, 1)}
    install(monkeypatch, [reading] * 6)

    async def interfaces(**config: Any) -> set[str]:
        source = Net(**config)
        source.clock = clock
        await collect(source)
        clock.advance(1.0)
        return {dict(labels)["iface"] for _, labels in by_key(await collect(source))}

    assert await interfaces(include_loopback=True, exclude=["veth*"]) == {"eth0", "lo", "wlan0"}
    assert await interfaces(interfaces=["eth*", "wl*"]) == {"eth0", "wlan0"}
    assert await interfaces() == {"eth0", "veth12ab", "wlan0"}
