"""The engine: config picks a detector per metric; plugins add detectors through the hook."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import numpy as np
import pytest

from hostpulse.hub.anomaly import AnomalyEngine, Detector, hookimpl
from hostpulse.hub.anomaly.plugins import plugin_manager
from hostpulse.hub.errors import SettingsError
from tests.hub.anomaly.conftest import MINUTE, T0, series


class Doubler(Detector):
    """A user's detector: flags any value above twice its option ``limit``."""

    name = "doubler"
    options: ClassVar[dict[str, Any]] = {"limit": 10.0}

    @property
    def state_size(self) -> int:
        return 1

    def step(self, state, t, dt, n, x):
        state[:, 0] += 1  # counts points, to show state is kept per series
        score = np.where(x > 2 * self.config["limit"], 1.0, 0.0)
        return score, x * 0, x * 0 + 2 * self.config["limit"]


class DoublerPlugin:
    @hookimpl
    def register_detectors(self):
        return [Doubler]


class BrokenPlugin:
    @hookimpl
    def register_detectors(self):
        raise RuntimeError("boom")


def user_engine(config):
    pm = plugin_manager(entry_points=False)
    pm.register(DoublerPlugin())
    pm.register(BrokenPlugin())  # logged and skipped, the others still load
    return AnomalyEngine(config, pm=pm)


def test_rules_pick_detector_and_options_by_metric_pattern() -> None:
    eng = user_engine(
        {
            "rules": [
                {"metric": "temp.*", "detector": "doubler", "warmup": 0, "options": {"limit": 5.0}},
                {"metric": "off.*", "detector": "none"},
            ]
        }
    )
    ts = T0 + MINUTE * np.arange(3)
    res = eng.detect(
        [1, 2, 3],
        [ts, ts, ts],
        [np.array([1.0, 11.0, 9.0])] * 3,
        ["temp.cpu", "off.thing", "cpu.percent"],
    )
    assert res.detector == ["doubler", "none", "robust"]
    assert res.series(0)[3].tolist() == [False, True, False]
    assert res.series(0)[2].tolist() == [10.0, 10.0, 10.0]
    assert not res.flag[3:].any()
    series_idx, point_idx = res.flagged()
    assert series_idx.tolist() == [0] and point_idx.tolist() == [1]
    assert eng.detector_name(1) == "doubler" and eng.detector_name(99) is None


def test_detector_is_chosen_once_per_series() -> None:
    eng = user_engine({"rules": [{"metric": "temp.*", "detector": "doubler"}]})
    ts = np.array([T0])
    eng.detect([1], [ts], [np.array([1.0])], ["temp.cpu"])
    res = eng.detect([1], [ts + 1], [np.array([1.0])], ["cpu.percent"])
    assert res.detector == ["doubler"]


def test_builtin_rules_put_network_rates_on_a_log_scale(engine) -> None:
    eng = engine()
    ts, values = series(days=0.2, level=1e6, sigma=1e4)
    res = eng.detect([1, 2], [ts, ts], [values, values], ["net.rx_bytes_per_s", "mem.used"])
    banks = {eng._banks[eng._where[i]].detector.config["transform"] for i in (1, 2)}
    assert banks == {"log", "none"}
    assert np.isfinite(res.low).all()


def test_disabled_detection_flags_nothing(engine) -> None:
    ts, values = series(days=0.5)
    values[200] += 1e6
    res = engine({"enabled": False}).detect(["s"], [ts], [values], ["cpu.percent"])
    assert not res.flag.any() and res.detector == ["none"]


def test_sensitivity_widens_and_narrows_the_band(engine) -> None:
    ts, values = series(days=0.5)
    calm = engine({"sensitivity": 0.5}).detect(["s"], [ts], [values])
    keen = engine({"sensitivity": 2.0}).detect(["s"], [ts], [values])
    assert ((calm.high - calm.low)[100:] > (keen.high - keen.low)[100:]).all()


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"detector": "nope"}, "anomaly.detector"),
        ({"sensitivity": 0}, "anomaly.sensitivity"),
        ({"warmup": -1}, "anomaly.warmup"),
        ({"enabled": "yes"}, "anomaly.enabled"),
        ({"colour": "red"}, "anomaly.colour"),
        ({"rules": [{"detector": "robust"}]}, "anomaly.rules[0].metric"),
        ({"rules": [{"metric": "a", "bogus": 1}]}, "anomaly.rules[0].bogus"),
        ({"options": {"robust": {"threshold": "high"}}}, "anomaly.detectors.robust.threshold"),
        ({"options": {"robust": {"thresold": 5.0}}}, "anomaly.detectors.robust.thresold"),
        ({"options": {"robust": {"transform": "sqrt"}}}, "anomaly.detectors.robust.transform"),
    ],
)
def test_config_errors_name_the_key(engine, config, key) -> None:
    with pytest.raises(SettingsError) as info:
        engine(config)
    assert info.value.key == key


def test_forget_drops_state(engine) -> None:
    eng = engine()
    ts, values = series(days=0.1)
    eng.detect(["s"], [ts], [values])
    eng.forget(["s"])
    assert eng.snapshot() == {}


def test_points_are_json_ready_stream_points(engine) -> None:
    ts, values = series(days=0.1)
    values[100] += 50
    res = engine().detect(["s"], [ts], [values])
    points = res.points(0, ts, values)
    assert len(points) == len(ts)
    t, v, score, low, high, flagged = points[100]
    assert (t, v, flagged) == (int(ts[100]), float(values[100]), True)
    assert 0.5 <= score <= 1 and low < high < v
    json.dumps(points)  # plain Python types only
