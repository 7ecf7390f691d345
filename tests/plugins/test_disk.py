from __future__ import annotations

from typing import Any

import pytest
from recorded import as_tuple, by_key, collect, key, load

from hostpulse.plugins import disk
from hostpulse.plugins.disk import Disk


def install(monkeypatch: pytest.MonkeyPatch, partitions: list[dict[str, Any]],
            usage: dict[str, dict[str, Any]]) -> list[str]:
    asked: list[str] = []

    def disk_usage(path: str) -> Any:
        asked.append(path)
        if path not in usage:
            raise PermissionError(13, "Permission denied", path)
        return as_tuple("sdiskusage", usage[path])

    monkeypatch.setattr(disk.psutil, "disk_partitions", lambda all=False: [
        as_tuple("sdiskpart", p) for p in partitions
    ])
    monkeypatch.setattr(disk.psutil, "disk_usage", disk_usage)
    return asked


async def test_recorded_container_reports_only_the_real_filesystem(monkeypatch: pytest.MonkeyPatch) -> None:
    # The recording lists every mount (all=True): proc, sysfs, tmpfs, cgroup … and one ext4.
    recording = load("disk_linux.json")
    asked = install(monkeypatch, recording["partitions"], recording["usage"])
    values = by_key(await collect(Disk()))
    root = recording["usage"]["/"]
    labels = {"mount": "/", "device": "/dev/vda", "fstype": "ext4"}
    assert values == {
        key("disk.total", **labels): root["total"],
        key("disk.used", **labels): root["used"],
        key("disk.free", **labels): root["free"],
        key("disk.percent", **labels): root["percent"],
    }
    assert asked == ["/"]  # pseudo filesystems are never even stat'ed


def part(device: str, mountpoint: str, fstype: str) -> dict[str, str]:
    return {"device": device, "mountpoint": mountpoint, "fstype": fstype, "opts": "rw"}


USAGE = {"total": 100, "used": 40, "free": 60, "percent": 40.0}


async def test_bind_mounts_count_once_and_unreadable_mounts_are_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(monkeypatch, [
        part("/dev/sda2", "/", "ext4"),
        part("/dev/sda2", "/var/lib/docker/plugins", "ext4"),  # bind mount of /
        part("overlay", "/var/lib/docker/overlay2/x/merged", "overlay"),
        part("/dev/loop3", "/snap/core/1", "squashfs"),
        part("/dev/sdb1", "/data", "xfs"),
        part("/dev/sdc1", "/secret", "ext4"),  # disk_usage raises PermissionError
    ], {"/": USAGE, "/data": USAGE, "/var/lib/docker/plugins": USAGE})
    mounts = {labels[0][1] for (_, labels) in by_key(await collect(Disk()))
              for labels in [[kv for kv in labels if kv[0] == "mount"]]}
    assert mounts == {"/", "/data"}


async def test_mounts_and_ignore_fs_options(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = [part("/dev/sda2", "/", "ext4"), part("/dev/sdb1", "/data", "xfs"),
             part("nas:/vol", "/nas", "nfs4")]
    usage = {"/": USAGE, "/data": USAGE, "/nas": USAGE}
    install(monkeypatch, parts, usage)
    only_data = by_key(await collect(Disk(mounts=["/data"])))
    assert {dict(labels)["mount"] for _, labels in only_data} == {"/data"}
    no_xfs = by_key(await collect(Disk(ignore_fs=["xfs", "nfs4"])))
    assert {dict(labels)["mount"] for _, labels in no_xfs} == {"/"}
