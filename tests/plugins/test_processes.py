from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from recorded import FakeClock, as_tuple, by_key, collect, key, load

from hostpulse.plugins import processes
from hostpulse.plugins.processes import Processes

# ---------------------------------------------------------------------------------------------
# Linux: /proc/PID/stat read directly. Recorded trees are written out under tmp_path.

#: The state letters in the recording, named as `ps` documents them (proc(5)).
LETTERS = {"R": "running", "S": "sleeping", "D": "disk-sleep", "I": "idle", "Z": "zombie",
           "T": "stopped"}


def write_tree(root: Path, stat: dict[str, str], cmdline: dict[str, str] | None = None) -> str:
    """Lay out a fake procfs: PID/stat and PID/cmdline files, plus the non-pid entries /proc has."""
    root.mkdir()
    (root / "stat").write_text("cpu  1 2 3 4\n")
    (root / "sys").mkdir()
    for pid, line in stat.items():
        (root / pid).mkdir()
        (root / pid / "stat").write_text(line)
        (root / pid / "cmdline").write_text((cmdline or {}).get(pid, ""))
    return str(root)


def stat_line(pid: int, comm: str, ticks: int, rss_pages: int, state: str = "S",
              start: int = 500) -> str:
    """A /proc/PID/stat line with the fields this source reads, the others plausible."""
    fields = [state, "1", str(pid), str(pid), "0", "-1", "4194304", "0", "0", "0", "0",
              str(ticks), "0", "0", "0", "20", "0", "1", "0", str(start),
              str(rss_pages * 8192), str(rss_pages)] + ["0"] * 30
    return f"{pid} ({comm}) {' '.join(fields)}\n"


def linux_source(clock: FakeClock, **config: Any) -> Processes:
    source = Processes(**config)
    source.clock, source.ticks, source.page_size = clock, 100, 4096
    return source


def ticks_of(line: str) -> int:
    fields = line.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


async def test_recorded_proc_busy_loop_tops_the_cpu_list(tmp_path: Path, clock: FakeClock) -> None:
    recording = load("procfs_linux.json")
    roots = [write_tree(tmp_path / str(i), snap["stat"], snap["cmdline"])
             for i, snap in enumerate(recording["snapshots"])]
    source = linux_source(clock)
    source.ticks, source.page_size = recording["ticks"], recording["page_size"]
    source.procfs = roots[0]
    first = await collect(source)
    assert not any(s.metric == "procs.top_cpu_percent" for s in first)
    clock.advance(recording["elapsed"])
    source.procfs = roots[1]
    samples = await collect(source)
    values = by_key(samples)

    before, latest = (snap["stat"] for snap in recording["snapshots"])
    letters = Counter(line.rsplit(")", 1)[1].split()[0] for line in latest.values())
    assert values[key("procs.total")] == len(latest)
    for letter, count in letters.items():
        assert values[key("procs.count", state=LETTERS[letter])] == count
    assert values[key("procs.count", state="zombie")] == letters["Z"]  # reported even when 0
    assert values[key("procs.count", state="stopped")] == 0

    # The recording host was loaded: the busy loop got about a quarter of a core, and a few other
    # processes as much. The five busiest, worked out from the recorded tick counts:
    busiest = sorted(((ticks_of(line) - ticks_of(before[pid])) / recording["ticks"]
                      / recording["elapsed"] * 100, int(pid))
                     for pid, line in latest.items() if pid in before)[-5:][::-1]
    top_cpu = [s for s in samples if s.metric == "procs.top_cpu_percent"]
    assert [int(s.labels["pid"]) for s in top_cpu] == [pid for _, pid in busiest]
    # Rates keep three decimals of a core: 0.1 % steps.
    assert [s.value for s in top_cpu] == pytest.approx([p for p, _ in busiest], abs=0.051)
    busy = next(s for s in top_cpu if s.labels["pid"] == str(recording["busy_pid"]))
    # comm is cut to "busy-loop-recor"; the full name comes from argv[0], as psutil gives it.
    assert busy.labels["name"] == "busy-loop-recorder"

    top_rss = [s for s in samples if s.metric == "procs.top_rss"]
    assert len(top_rss) == 5
    pages = {pid: int(line.rsplit(")", 1)[1].split()[21]) for pid, line in latest.items()}
    biggest = max(pages, key=lambda pid: pages[pid])
    assert top_rss[0].labels["pid"] == biggest
    assert top_rss[0].value == pages[biggest] * recording["page_size"]
    assert [s.value for s in top_rss] == sorted((s.value for s in top_rss), reverse=True)


async def test_proc_names_pid_reuse_and_exits(tmp_path: Path, clock: FakeClock) -> None:
    source = linux_source(clock, top=3)
    source.procfs = write_tree(tmp_path / "a", {
        "1": stat_line(1, "init", 100, 10),
        "7": stat_line(7, "worker", 500, 30),
        "42": stat_line(42, "gnome-keyring-d", 0, 5),
        "50": stat_line(50, "a) b (c", 0, 1),
    }, {"42": "/usr/bin/gnome-keyring-daemon\0--start\0"})
    await collect(source)
    clock.advance(5.0)
    # pid 7 exited and a new process got its pid (a later start): its 0.2 s are not 5 s of the
    # old one's. pid 8 exited between the listing and the read: a directory without stat.
    root = tmp_path / "b"
    source.procfs = write_tree(root, {
        "1": stat_line(1, "init", 150, 10),
        "7": stat_line(7, "new", 20, 20, start=900),
        "42": stat_line(42, "gnome-keyring-d", 50, 5),
        "50": stat_line(50, "a) b (c", 25, 1, state="R"),
        "60": stat_line(60, "kworker/0:1-events_unbound", 0, 0, state="I"),
    }, {"42": "/usr/bin/gnome-keyring-daemon\0--start\0"})
    (root / "8").mkdir()
    samples = await collect(source)
    values = by_key(samples)
    assert values[key("procs.total")] == 5
    assert values[key("procs.count", state="running")] == 1
    assert values[key("procs.count", state="idle")] == 1
    assert values[key("procs.count", state="sleeping")] == 3
    top_cpu = [(s.labels["name"], s.labels["pid"], s.value) for s in samples
               if s.metric == "procs.top_cpu_percent"]
    # Equal figures rank by pid, as heapq compares the tuples. A name holding ") " and "(" is
    # cut at the last ")", not the first.
    assert top_cpu == [("gnome-keyring-daemon", "42", 10.0), ("init", "1", 10.0),
                       ("a) b (c", "50", 5.0)]
    top_rss = [(s.labels["name"], s.value) for s in samples if s.metric == "procs.top_rss"]
    assert top_rss == [("new", 20 * 4096.0), ("init", 10 * 4096.0),
                       ("gnome-keyring-daemon", 5 * 4096.0)]


async def test_proc_cut_names_follow_psutils_rule(tmp_path: Path, clock: FakeClock) -> None:
    source = linux_source(clock, top=4)
    source.procfs = write_tree(tmp_path / "p", {
        # argv[0] does not start with the cut name: the cut name stays (psutil does the same).
        "3": stat_line(3, "node-MainThread", 0, 40),
        # A process that rewrote its title with spaces instead of NULs.
        "4": stat_line(4, "chromium-browse", 0, 30),
        # A kernel thread: no command line at all.
        "5": stat_line(5, "rcu_exp_gp_kthread_worker", 0, 20),
        # Gone before its command line was read.
        "6": stat_line(6, "short-lived-job", 0, 10),
    }, {"3": "/usr/bin/node\0app.js\0", "4": "/usr/lib/chromium-browser --type=renderer"})
    (tmp_path / "p" / "6" / "cmdline").unlink()
    samples = await collect(source)
    names = [s.labels["name"] for s in samples if s.metric == "procs.top_rss"]
    assert names == ["node-MainThread", "chromium-browser", "rcu_exp_gp_kthread_worker",
                     "short-lived-job"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads this host's /proc")
async def test_this_hosts_proc_is_read_directly(clock: FakeClock) -> None:
    source = Processes(top=50)
    assert source.procfs == "/proc"
    assert (source.ticks, source.page_size) == (os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE"))
    values = by_key(await collect(source))
    counts = {k[1][0][1]: v for k, v in values.items() if k[0] == "procs.count"}
    assert values[key("procs.total")] == sum(counts.values()) >= 1
    assert counts["running"] >= 1  # this test's own process, reading its stat
    assert "unknown" not in counts


def stat_descriptors(pid: int | str = "") -> list[str]:
    """This process's open descriptors on /proc/PID/stat files (of ``pid`` when given)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/proc/") and target.endswith(f"{pid}/stat") and target != "/proc/stat":
            found.append(target)
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads this host's /proc")
def test_stat_files_stay_open_while_their_process_lives() -> None:
    others = stat_descriptors()  # kept by sources of other tests
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    source = Processes(top=50)
    try:
        list(source.collect())
        assert stat_descriptors(child.pid) == [f"/proc/{child.pid}/stat"]
        files = source._stat
        assert files is not None
        before = files.read(str(child.pid))
        assert before is not None and before.startswith(f"{child.pid} (".encode())
    finally:
        child.kill()
        child.wait()
    # Gone: its kept descriptor answers ESRCH and the path no longer exists.
    assert files.read(str(child.pid)) is None
    samples = list(source.collect())
    assert str(child.pid) not in {s.labels.get("pid") for s in samples}
    assert stat_descriptors(child.pid) == []
    assert len(stat_descriptors()) > len(others)  # the other processes' files are still kept
    source.close()
    assert stat_descriptors() == others


# ---------------------------------------------------------------------------------------------
# Elsewhere: psutil.process_iter, on recorded psutil output.

def install(monkeypatch: pytest.MonkeyPatch, snapshots: list[list[dict[str, Any]]]) -> None:
    queue = list(snapshots)

    def process_iter(attrs: list[str], ad_value: Any = None) -> Any:
        assert set(attrs) == set(processes.ATTRS)
        for info in queue.pop(0):
            info = dict(info)
            if info["cpu_times"] is not None:
                info["cpu_times"] = as_tuple("pcputimes", info["cpu_times"])
            if info["memory_info"] is not None:
                info["memory_info"] = as_tuple("pmem", info["memory_info"])
            yield SimpleNamespace(info=info)

    monkeypatch.setattr(processes.psutil, "process_iter", process_iter)


def psutil_source(**config: Any) -> Processes:
    source = Processes(**config)
    source.procfs = None  # what linux_procfs() gives on macOS, Windows, the BSDs
    return source


def proc(pid: int, name: str, cpu: float, rss: int, status: str = "sleeping",
         created: float = 100.0) -> dict[str, Any]:
    return {"pid": pid, "name": name, "status": status, "create_time": created,
            "cpu_times": {"user": cpu, "system": 0.0}, "memory_info": {"rss": rss, "vms": rss * 2}}


async def test_psutil_recorded_busy_loop_tops_the_cpu_list(monkeypatch: pytest.MonkeyPatch,
                                                           clock: FakeClock) -> None:
    recording = load("processes_linux.json")
    install(monkeypatch, recording["snapshots"])
    source = psutil_source()
    source.clock = clock
    first = await collect(source)
    assert not any(s.metric == "procs.top_cpu_percent" for s in first)
    clock.advance(recording["elapsed"])
    samples = await collect(source)
    values = by_key(samples)
    latest = recording["snapshots"][1]
    states = Counter(p["status"] for p in latest)
    assert values[key("procs.total")] == len(latest)
    for state, count in states.items():
        assert values[key("procs.count", state=state)] == count
    assert values[key("procs.count", state="zombie")] == 0  # always there, for a steady chart
    top_cpu = [s for s in samples if s.metric == "procs.top_cpu_percent"]
    assert len(top_cpu) == 5
    assert top_cpu[0].labels == {"name": "python", "pid": str(recording["busy_pid"])}
    top_rss = [s for s in samples if s.metric == "procs.top_rss"]
    assert len(top_rss) == 5
    assert top_rss[0].value == max(p["memory_info"]["rss"] for p in latest if p["memory_info"])
    assert [s.value for s in top_rss] == sorted((s.value for s in top_rss), reverse=True)


async def test_psutil_cpu_percent_and_pid_reuse(monkeypatch: pytest.MonkeyPatch,
                                                clock: FakeClock) -> None:
    install(monkeypatch, [
        [proc(1, "init", 1.0, 10), proc(7, "worker", 5.0, 30), proc(8, "gone", 0.0, 5, "zombie")],
        # pid 7 exited and a new process got its pid: its 0.2 s are not 5 s of the old one's.
        [proc(1, "init", 1.5, 10), proc(7, "new", 0.2, 20, created=150.0),
         proc(9, "busy", 0.0, 1, "running")],
        [proc(1, "init", 1.5, 10), proc(7, "new", 1.2, 20, created=150.0),
         proc(9, "busy", 3.0, 1, "running")],
    ])
    source = psutil_source(top=2)
    source.clock = clock
    await collect(source)
    clock.advance(5.0)
    values = by_key(await collect(source))
    assert values[key("procs.top_cpu_percent", name="init", pid="1")] == 10.0
    assert [k for k in values if k[0] == "procs.top_cpu_percent"] == [
        key("procs.top_cpu_percent", name="init", pid="1")
    ]
    clock.advance(2.0)
    samples = [s for s in await collect(source) if s.metric == "procs.top_cpu_percent"]
    # Several threads can make a process exceed 100 % of one core.
    assert [(s.labels["name"], s.value) for s in samples] == [("busy", 150.0), ("new", 50.0)]


async def test_top_zero_reports_only_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [[proc(1, "init", 1.0, 10)]])
    metrics = {s.metric for s in await collect(psutil_source(top=0))}
    assert metrics == {"procs.total", "procs.count"}


def test_top_is_bounded() -> None:
    with pytest.raises(Exception, match=r"plugins\.processes\.top = 500"):
        Processes(top=500)
