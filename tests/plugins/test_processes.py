from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from recorded import FakeClock, as_tuple, by_key, collect, key, load

from plugins import processes
from plugins.processes import Processes


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


def proc(pid: int, name: str, cpu: float, rss: int, status: str = "sleeping",
         created: float = 100.0) -> dict[str, Any]:
    return {"pid": pid, "name": name, "status": status, "create_time": created,
            "cpu_times": {"user": cpu, "system": 0.0}, "memory_info": {"rss": rss, "vms": rss * 2}}


async def test_recorded_busy_loop_tops_the_cpu_list(monkeypatch: pytest.MonkeyPatch,
                                                    clock: FakeClock) -> None:
    recording = load("processes_linux.json")
    install(monkeypatch, recording["snapshots"])
    source = Processes()
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


async def test_cpu_percent_and_pid_reuse(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    install(monkeypatch, [
        [proc(1, "init", 1.0, 10), proc(7, "worker", 5.0, 30), proc(8, "gone", 0.0, 5, "zombie")],
        # pid 7 exited and a new process got its pid: its 0.2 s are not 5 s of the old one's.
        [proc(1, "init", 1.5, 10), proc(7, "new", 0.2, 20, created=150.0),
         proc(9, "busy", 0.0, 1, "running")],
        [proc(1, "init", 1.5, 10), proc(7, "new", 1.2, 20, created=150.0),
         proc(9, "busy", 3.0, 1, "running")],
    ])
    source = Processes(top=2)
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
    metrics = {s.metric for s in await collect(Processes(top=0))}
    assert metrics == {"procs.total", "procs.count"}


def test_top_is_bounded() -> None:
    with pytest.raises(Exception, match=r"plugins\.processes\.top = 500"):
        Processes(top=500)
