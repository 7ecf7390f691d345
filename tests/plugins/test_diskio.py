from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from recorded import FakeClock, as_tuple, by_key, collect, key, load

from hostpulse.plugins import diskio
from hostpulse.plugins.diskio import DiskIO


@pytest.fixture
def sys_block(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("loop0", "loop1", "vda", "zram0", "sda"):
        (tmp_path / name).mkdir()
    monkeypatch.setattr(diskio, "SYS_BLOCK", str(tmp_path))
    return tmp_path


def install(monkeypatch: pytest.MonkeyPatch, snapshots: list[dict[str, dict[str, Any]]]) -> None:
    queue = list(snapshots)
    monkeypatch.setattr(diskio.psutil, "disk_io_counters", lambda perdisk=False: {
        name: as_tuple("sdiskio", fields) for name, fields in queue.pop(0).items()
    })


async def test_recorded_write_burst(monkeypatch: pytest.MonkeyPatch, clock: FakeClock,
                                    sys_block: Path) -> None:
    recording = load("diskio_linux.json")
    before, after = recording["snapshots"]
    install(monkeypatch, recording["snapshots"])
    source = DiskIO()
    source.clock = clock
    assert await collect(source) == []
    clock.advance(recording["elapsed"])
    values = by_key(await collect(source))
    # Unused loop and zram devices are skipped; only the VM's disk is left.
    assert {dict(labels)["device"] for _, labels in values} == {"vda"}
    written = (after["vda"]["write_bytes"] - before["vda"]["write_bytes"]) / recording["elapsed"]
    assert values[key("diskio.write_bytes_per_s", device="vda")] == pytest.approx(written, abs=0.001)
    # 64 MiB were written and fsynced during the 2 s recording.
    assert written >= 64 * 2**20 / 2
    assert values[key("diskio.writes_per_s", device="vda")] > 0
    assert 0 < values[key("diskio.busy_percent", device="vda")] <= 100


def io(reads: int, writes: int, busy: int) -> dict[str, int]:
    return {"read_count": reads, "write_count": writes, "read_bytes": reads * 4096,
            "write_bytes": writes * 4096, "read_time": 0, "write_time": 0, "busy_time": busy}


async def test_rates_partitions_and_a_counter_reset(monkeypatch: pytest.MonkeyPatch, clock: FakeClock,
                                                    sys_block: Path) -> None:
    install(monkeypatch, [
        {"sda": io(100, 200, 1000), "sda1": io(100, 200, 1000)},
        {"sda": io(110, 240, 1500), "sda1": io(110, 240, 1500)},
        {"sda": io(5, 5, 10), "sda1": io(5, 5, 10)},  # the device was re-attached
        {"sda": io(15, 5, 510), "sda1": io(15, 5, 510)},
    ])
    source = DiskIO()
    source.clock = clock
    await collect(source)
    clock.advance(2.0)
    values = by_key(await collect(source))
    assert values == {
        key("diskio.reads_per_s", device="sda"): 5.0,
        key("diskio.writes_per_s", device="sda"): 20.0,
        key("diskio.read_bytes_per_s", device="sda"): 5 * 4096.0,
        key("diskio.write_bytes_per_s", device="sda"): 20 * 4096.0,
        key("diskio.busy_percent", device="sda"): 25.0,  # 500 ms busy in 2 s
    }
    clock.advance(1.0)
    assert await collect(source) == []
    clock.advance(1.0)
    assert by_key(await collect(source))[key("diskio.busy_percent", device="sda")] == 50.0


async def test_partitions_and_device_globs(monkeypatch: pytest.MonkeyPatch, clock: FakeClock,
                                           sys_block: Path) -> None:
    reading = {"sda": io(1, 1, 1), "sda1": io(1, 1, 1), "vda": io(1, 1, 1), "loop0": io(1, 1, 1)}
    install(monkeypatch, [reading, reading] * 3)

    async def devices(**config: Any) -> set[str]:
        source = DiskIO(**config)
        source.clock = clock
        await collect(source)
        clock.advance(1.0)
        return {dict(labels)["device"] for _, labels in by_key(await collect(source))}

    assert await devices() == {"sda", "vda"}
    assert await devices(partitions=True) == {"sda", "sda1", "vda"}
    assert await devices(devices=["sd*"], exclude=[]) == {"sda"}


def test_bad_glob_list_names_the_key() -> None:
    with pytest.raises(Exception, match=r"plugins\.diskio\.exclude\[0\] = 3: expected a str"):
        DiskIO(exclude=[3])
