"""Process counts by state, and the top N processes by CPU and by memory.

On Linux one pass over ``/proc`` reads each process's ``stat`` file once with bare system calls:
that one line holds the state, the CPU ticks, the start time, the resident pages and the name.
``psutil.process_iter`` made the same read through a Process object, a oneshot context and an
``info`` dict per process (plus ``statm``), about 6 ms a round on a 130-process host, which made
this source most of the agent's CPU at a 1 s interval (issue 3). Elsewhere psutil does the reading.
"""

from __future__ import annotations

import heapq
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psutil

from agent import Option, Sample, Source, hookimpl
from agent.errors import ConfigError
from plugins.rates import Rates

ATTRS = ["pid", "name", "status", "create_time", "cpu_times", "memory_info"]
#: Always reported, zero or not, so the chart of each state is a continuous line.
STATES = ("running", "sleeping", "disk-sleep", "stopped", "zombie", "idle")
#: The state letter of /proc/PID/stat, named as psutil names it (psutil/_pslinux.py).
STATE_LETTERS = {
    b"R": "running", b"S": "sleeping", b"D": "disk-sleep", b"T": "stopped", b"t": "tracing-stop",
    b"Z": "zombie", b"X": "dead", b"x": "dead", b"K": "wake-kill", b"W": "waking", b"I": "idle",
    b"P": "parked",
}
#: The kernel cuts a process's name (comm) to 15 bytes; psutil then takes the longer one from
#: the command line when it starts with the cut name, and so does this source.
COMM_LENGTH = 15

#: A top-N candidate: (value, pid, name, start) — value first, so heapq ranks by it; pids are
#: unique within a round, so ties never compare further than the pid.
Entry = tuple[float, int, str, Any]


def linux_procfs() -> str | None:
    """Where this host's process table is read from: ``/proc`` on Linux, None (psutil) elsewhere."""
    if sys.platform.startswith("linux") and os.path.exists("/proc/self/stat"):
        return "/proc"
    return None


class Processes(Source):
    """How many processes are in each state, and which use the most CPU and memory."""

    name = "processes"
    interval = 10.0
    options: ClassVar[dict[str, Option]] = {
        "top": Option(int, default=5, help="processes reported by CPU and by memory (0: none, ≤ 50)"),
    }

    def __init__(self, **config: Any) -> None:
        super().__init__(**config)
        #: The monotonic clock used for CPU rates; tests put a fake one here.
        self.clock: Callable[[], float] = time.monotonic
        self._rates = Rates(lambda: self.clock())
        #: The procfs root read on Linux; None reads through psutil. Tests point it at a recorded tree.
        self.procfs: str | None = linux_procfs()
        #: Clock ticks per second and bytes per page: the units of /proc/PID/stat.
        self.ticks, self.page_size = 100, 4096
        if self.procfs is not None:
            self.ticks, self.page_size = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
        # Full names of top-N processes whose comm was cut, by (pid, start, comm): one cmdline
        # read per such process while it stays in the top, not one per round.
        self._full_names: dict[tuple[int, Any, str], str] = {}

    @classmethod
    def validate(cls, config: Any) -> dict[str, Any]:
        checked = super().validate(config)
        if not 0 <= checked["top"] <= 50:
            raise ConfigError(f"plugins.{cls.name}.top", checked["top"], "an integer from 0 to 50")
        return checked

    def collect(self) -> Iterator[Sample]:
        self._rates.tick()
        if self.procfs is not None:
            states, by_cpu, by_memory = self._scan_procfs(self.procfs)
        else:
            states, by_cpu, by_memory = self._scan_psutil()

        yield Sample("procs.total", float(sum(states.values())))
        for state in sorted(states.keys() | set(STATES)):
            yield Sample("procs.count", float(states[state]), {"state": state})
        top = self.config["top"]
        top_cpu, top_memory = heapq.nlargest(top, by_cpu), heapq.nlargest(top, by_memory)
        names = self._names(top_cpu + top_memory)
        for percent, pid, _, start in top_cpu:
            labels = {"name": names[pid, start], "pid": str(pid)}
            yield Sample("procs.top_cpu_percent", round(percent, 2), labels, "%")
        for rss, pid, _, start in top_memory:
            yield Sample("procs.top_rss", rss, {"name": names[pid, start], "pid": str(pid)}, "B")

    def _scan_procfs(self, procfs: str) -> tuple[Counter[str], list[Entry], list[Entry]]:
        """One read of every ``PROCFS/PID/stat``: counts by state and the top-N candidates."""
        states: Counter[str] = Counter()
        by_cpu: list[Entry] = []
        by_memory: list[Entry] = []
        rate, hertz, page = self._rates.rate, float(self.ticks), float(self.page_size)
        # The hot loop of the source: os.open/os.read skip the buffered file object that open()
        # builds, and split() stops at the rss field instead of cutting all ~50 fields.
        with os.scandir(procfs) as entries:
            for entry in entries:
                if not entry.name.isdigit():
                    continue
                try:
                    fd = os.open(f"{procfs}/{entry.name}/stat", os.O_RDONLY)
                    try:
                        line = os.read(fd, 4096)
                    finally:
                        os.close(fd)
                except OSError:  # the process exited after the listing: it is simply not counted
                    continue
                # The name sits in parentheses and may itself hold spaces and ")": cut at the last.
                close = line.rfind(b")")
                fields = line[close + 2:].split(None, 22)
                if close < 0 or len(fields) < 22:
                    continue
                states[STATE_LETTERS.get(fields[0], "unknown")] += 1
                pid, start = int(entry.name), int(fields[19])
                name = line[line.find(b"(") + 1:close].decode("utf-8", "replace")
                # (pid, start ticks) names one process even after its pid is reused.
                busy = rate((pid, start), (int(fields[11]) + int(fields[12])) / hertz)
                if busy is not None:
                    by_cpu.append((busy * 100.0, pid, name, start))
                by_memory.append((int(fields[21]) * page, pid, name, start))
        return states, by_cpu, by_memory

    def _scan_psutil(self) -> tuple[Counter[str], list[Entry], list[Entry]]:
        """The same through ``psutil.process_iter``, for hosts without a Linux /proc."""
        states: Counter[str] = Counter()
        by_cpu: list[Entry] = []
        by_memory: list[Entry] = []
        for proc in psutil.process_iter(ATTRS, ad_value=None):
            info = proc.info
            states[info["status"] or "unknown"] += 1
            pid, name, start = info["pid"], info["name"] or str(info["pid"]), info["create_time"]
            times = info["cpu_times"]
            if times is not None:
                busy = self._rates.rate((pid, start), times.user + times.system)
                if busy is not None:
                    by_cpu.append((busy * 100.0, pid, name, start))
            memory = info["memory_info"]
            if memory is not None:
                by_memory.append((float(memory.rss), pid, name, start))
        return states, by_cpu, by_memory

    def _names(self, entries: list[Entry]) -> dict[tuple[int, Any], str]:
        """The label name of each top-N entry, completed from the command line when cut short."""
        names: dict[tuple[int, Any], str] = {}
        full_names: dict[tuple[int, Any, str], str] = {}
        for _, pid, name, start in entries:
            if self.procfs is not None and len(name) >= COMM_LENGTH:
                full = self._full_names.get((pid, start, name))
                if full is None:
                    full = self._full_name(self.procfs, pid, name)
                full_names[pid, start, name] = full
                name = full
            names[pid, start] = name
        # Only the current top is remembered, so the cache holds at most 2 x top names.
        self._full_names = full_names
        return names

    @staticmethod
    def _full_name(procfs: str, pid: int, comm: str) -> str:
        """psutil's rule: the basename of argv[0] when it starts with the cut name, else the name."""
        try:
            with open(f"{procfs}/{pid}/cmdline", "rb") as file:
                cmdline = file.read()
        except OSError:  # exited, or not ours to read: the cut name is better than none
            return comm
        # A process that rewrote its title may separate its arguments with spaces (as psutil
        # handles too): then argv[0] ends at the first space.
        argv0 = cmdline.rstrip(b"\0").split(b"\0", 1)[0]
        if b"\0" not in cmdline.rstrip(b"\0"):
            argv0 = argv0.split(b" ", 1)[0]
        full = os.path.basename(argv0).decode("utf-8", "replace")
        return full if full.startswith(comm) else comm


@hookimpl
def register_sources() -> list[type[Source]]:
    return [Processes]
