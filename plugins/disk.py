"""Disk space per mounted filesystem, pseudo and in-memory filesystems skipped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import psutil

from hostpulse import Option, Sample, Source, hookimpl

#: Filesystems that hold no disk space of their own. psutil already drops most "nodev" types on
#: Linux; this list also covers other platforms and containers (overlay, squashfs snaps).
PSEUDO_FILESYSTEMS = frozenset({
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devfs", "devpts",
    "devtmpfs", "efivarfs", "fdescfs", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "fusectl",
    "hugetlbfs", "mqueue", "nsfs", "nullfs", "overlay", "proc", "procfs", "pstore", "ramfs",
    "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tmpfs", "tracefs", "aufs",
})


class Disk(Source):
    """Space used and free on each real mounted filesystem."""

    name = "disk"
    interval = 10.0
    options: ClassVar[dict[str, Option]] = {
        "mounts": Option(list, items=str, default=[], help="only these mount points (empty: every real one)"),
        "ignore_fs": Option(list, items=str, default=[], help="more filesystem types to skip, e.g. [\"nfs\"]"),
    }

    def collect(self) -> Iterator[Sample]:
        skip = PSEUDO_FILESYSTEMS.union(self.config["ignore_fs"])
        wanted = set(self.config["mounts"])
        devices: set[str] = set()
        for part in psutil.disk_partitions(all=False):
            if not part.fstype or part.fstype in skip:
                continue
            if wanted and part.mountpoint not in wanted:
                continue
            # Bind mounts and btrfs subvolumes show one filesystem several times: count it once.
            if part.device.startswith("/"):
                if part.device in devices:
                    continue
                devices.add(part.device)
            try:
                usage = psutil.disk_usage(part.mountpoint)
            except OSError:
                continue  # unmounted since the listing, or not ours to read
            labels = {"mount": part.mountpoint, "device": part.device, "fstype": part.fstype}
            yield Sample("disk.total", float(usage.total), labels, "B")
            yield Sample("disk.used", float(usage.used), labels, "B")
            yield Sample("disk.free", float(usage.free), labels, "B")
            yield Sample("disk.percent", float(usage.percent), labels, "%")


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Disk]
