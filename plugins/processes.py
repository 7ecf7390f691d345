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
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import psutil

from hostpulse import Option, Sample, Source, hookimpl
from hostpulse.agent.errors import ConfigError
from hostpulse.plugins.rates import Rates

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
#: unique within a round, so ties never compare further than the pid. The name is left as the
#: bytes of /proc/PID/stat until the process makes the top N.
Entry = tuple[float, int, str | bytes, Any]


class StatFiles:
    """Reads ``ROOT/PID/stat``, keeping each file open from one round to the next.

    Opening a procfs file walks its path and allocates a file each time; a ``pread`` at offset 0
    on a descriptor kept open regenerates the line for less than half of that (3 µs of 7 per process
    here). The descriptor holds the process itself, not its number: once the process has exited it
    answers ESRCH, even if the pid was reused, and is then reopened by path. Descriptors of pids
    gone from the listing are closed every round, and at most a quarter of the open-files limit
    (≤ 1024) are kept; past that, the rest of the processes are opened and closed as before.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self._fds: dict[str, int] = {}
        self._seen: set[str] = set()
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.keep = 1024 if soft == resource.RLIM_INFINITY else min(1024, soft // 4)

    def read(self, pid: str) -> bytes | None:
        """The stat line of process ``pid``, or None when it has gone."""
        self._seen.add(pid)
        fd = self._fds.get(pid)
        if fd is not None:
            try:
                return os.pread(fd, 4096, 0)
            except OSError:  # exited; the pid may already name a newer process
                del self._fds[pid]
                os.close(fd)
        try:
            fd = os.open(f"{self.root}/{pid}/stat", os.O_RDONLY)
        except OSError:
            return None
        try:
            line = os.pread(fd, 4096, 0)
        except OSError:
            os.close(fd)
            return None
        if len(self._fds) < self.keep:
            self._fds[pid] = fd
        else:
            os.close(fd)
        return line

    def forget_others(self) -> None:
        """Close the descriptors of pids not read since the last call."""
        for pid in self._fds.keys() - self._seen:
            os.close(self._fds.pop(pid))
        self._seen = set()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


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
        self._stat: StatFiles | None = None

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
        letters: dict[bytes, int] = {}
        by_cpu: list[Entry] = []
        by_memory: list[Entry] = []
        rate, hertz, page = self._rates.rate, float(self.ticks), self.page_size
        files = self._stat_files(procfs)
        # The hot loop of the source, about 5 µs a process: a pread on a kept descriptor, a split
        # that stops at the rss field, and nothing decoded that the top N does not need.
        for pid_name in os.listdir(procfs):
            if not pid_name.isdigit():
                continue
            line = files.read(pid_name)
            if line is None:  # the process exited after the listing: it is simply not counted
                continue
            # The name sits in parentheses and may itself hold spaces and ")": cut at the last.
            close = line.rfind(b")")
            fields = line[close + 2:].split(None, 22)
            if close < 0 or len(fields) < 22:
                continue
            letter = fields[0]
            letters[letter] = letters.get(letter, 0) + 1
            pid, start = int(pid_name), int(fields[19])
            name = line[line.find(b"(") + 1:close]
            # (pid, start ticks) names one process even after its pid is reused.
            busy = rate((pid, start), (int(fields[11]) + int(fields[12])) / hertz)
            if busy is not None:
                by_cpu.append((busy * 100.0, pid, name, start))
            by_memory.append((float(int(fields[21]) * page), pid, name, start))
        files.forget_others()
        states: Counter[str] = Counter()
        for letter, count in letters.items():
            states[STATE_LETTERS.get(letter, "unknown")] += count
        return states, by_cpu, by_memory

    def _stat_files(self, procfs: str) -> StatFiles:
        if self._stat is None or self._stat.root != procfs:
            self.close()
            self._stat = StatFiles(procfs)
        return self._stat

    def close(self) -> None:
        if self._stat is not None:
            self._stat.close()
            self._stat = None

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
        for _, pid, raw, start in entries:
            name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
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
