from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pluggy
import pytest
from recorded import as_tuple, by_key, collect, key, load

from hostpulse.agent import hookspecs
from hostpulse.agent.errors import ConfigError
from hostpulse.plugins import cpu
from hostpulse.plugins.cpu import Cpu


class Kernel:
    """Stands in for psutil.cpu_times, answering from the snapshot the test selects."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot

    def __call__(self, percpu: bool = False) -> Any:
        if percpu:
            return [as_tuple("scputimes", times) for times in self.snapshot["percpu"]]
        return as_tuple("scputimes", self.snapshot["total"])


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> Kernel:
    fake = Kernel(load("cpu_times_linux.json")["snapshots"][0])
    monkeypatch.setattr(cpu.psutil, "cpu_times", fake)
    return fake


def times(**fields: float) -> dict[str, float]:
    base = dict.fromkeys(
        ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice"],
        0.0,
    )
    base.update(fields)
    return base


def test_registered_through_the_entry_point_like_a_users_plugin() -> None:
    (ep,) = [ep for ep in entry_points(group="hostpulse.plugins") if ep.name == "cpu"]
    pm = pluggy.PluginManager("hostpulse")
    pm.add_hookspecs(hookspecs)
    pm.register(ep.load(), name=ep.name)
    pm.check_pending()
    assert pm.hook.register_sources() == [[Cpu]]


async def test_recorded_busy_core_shows_in_total_and_per_core(kernel: Kernel) -> None:
    snapshots = load("cpu_times_linux.json")["snapshots"]
    source = Cpu()
    await collect(source)
    kernel.snapshot = snapshots[1]
    values = by_key(await collect(source))
    # The recording was taken with one of the two cores in a busy loop for 1 s.
    assert 40 <= values[key("cpu.percent", cpu="total")] <= 65
    per_core = [values[key("cpu.percent", cpu=str(i))] for i in range(2)]
    assert max(per_core) >= 90
    for (metric, _labels), value in values.items():
        assert 0 <= value <= 100, metric
    assert {metric for metric, _ in values} == {
        "cpu.percent", "cpu.user", "cpu.system", "cpu.iowait", "cpu.steal",
    }


async def test_modes_are_shares_of_the_interval(kernel: Kernel) -> None:
    # 2 s of wall time on one core: 1.0 user, 0.2 system, 0.2 iowait, 0.1 steal, 0.5 idle.
    kernel.snapshot = {"total": times(user=10, system=5, idle=100, iowait=1, steal=1), "percpu": []}
    source = Cpu(per_cpu=False)
    await collect(source)
    kernel.snapshot = {
        "total": times(user=11, system=5.2, idle=100.5, iowait=1.2, steal=1.1), "percpu": [],
    }
    values = by_key(await collect(source))
    assert values == {
        key("cpu.percent", cpu="total"): 65.0,  # everything but idle and iowait
        key("cpu.user", cpu="total"): 50.0,
        key("cpu.system", cpu="total"): 10.0,
        key("cpu.iowait", cpu="total"): 10.0,
        key("cpu.steal", cpu="total"): 5.0,
    }


async def test_guest_time_is_not_counted_twice(kernel: Kernel) -> None:
    # Linux counts guest time inside user as well: 1 s user of which 1 s guest, 1 s idle.
    kernel.snapshot = {"total": times(), "percpu": []}
    source = Cpu(per_cpu=False, modes=["user", "guest"])
    await collect(source)
    kernel.snapshot = {"total": times(user=1, guest=1, idle=1), "percpu": []}
    values = by_key(await collect(source))
    assert values[key("cpu.percent", cpu="total")] == 50.0
    assert values[key("cpu.guest", cpu="total")] == 50.0


async def test_first_round_is_the_average_since_boot(kernel: Kernel) -> None:
    kernel.snapshot = {"total": times(user=30, idle=70), "percpu": [times(user=30, idle=70)]}
    values = by_key(await collect(Cpu()))
    assert values[key("cpu.percent", cpu="total")] == 30.0
    assert values[key("cpu.percent", cpu="0")] == 30.0


async def test_a_core_whose_counters_went_back_is_skipped_once(kernel: Kernel) -> None:
    kernel.snapshot = {"total": times(user=50, idle=50), "percpu": [times(user=20, idle=20)] * 2}
    source = Cpu()
    await collect(source)
    # core 1 was unplugged and re-plugged: its counters restarted near zero.
    kernel.snapshot = {
        "total": times(user=51, idle=51),
        "percpu": [times(user=21, idle=21), times(user=0.5, idle=0.5)],
    }
    values = by_key(await collect(source))
    assert key("cpu.percent", cpu="1") not in values
    assert values[key("cpu.percent", cpu="0")] == 50.0
    kernel.snapshot = {
        "total": times(user=52, idle=52),
        "percpu": [times(user=22, idle=22), times(user=1.5, idle=0.5)],
    }
    values = by_key(await collect(source))
    assert values[key("cpu.percent", cpu="1")] == 100.0


async def test_no_time_passed_gives_nothing(kernel: Kernel) -> None:
    kernel.snapshot = {"total": times(user=5, idle=5), "percpu": []}
    source = Cpu(per_cpu=False)
    await collect(source)
    assert await collect(source) == []


async def test_modes_missing_on_this_platform_are_skipped(kernel: Kernel) -> None:
    # macOS reports only user, nice, system, idle.
    mac = {"user": 10.0, "nice": 0.0, "system": 10.0, "idle": 80.0}
    kernel.snapshot = {"total": mac, "percpu": []}
    values = by_key(await collect(Cpu(per_cpu=False)))
    assert {metric for metric, _ in values} == {"cpu.percent", "cpu.user", "cpu.system"}


def test_unknown_mode_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"plugins\.cpu\.modes = 'usr'"):
        Cpu(modes=["usr"])
    with pytest.raises(ConfigError, match=r"plugins\.cpu\.per_cpu"):
        Cpu(per_cpu="yes")
