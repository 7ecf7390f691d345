from __future__ import annotations

import numpy as np

from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.evaluator import Evaluator, SeriesRef

DISK = SeriesRef(7, "web1", "disk.percent", {"mount": "/"})


def feed(ev: Evaluator, ref: SeriesRef, at: int, value: float):
    return ev.observe([ref], [np.array([at], np.int64)], [np.array([value])])


def moves(transitions):
    return [(t.previous, t.state, t.severity) for t in transitions]


def rules(*raw, defaults=False):
    return parse_alerts({"rules": list(raw), "defaults": defaults}).rules


def test_threshold_pending_then_firing_after_for_then_resolved():
    ev = Evaluator(
        rules({"name": "d", "kind": "threshold", "metric": "disk.*", "critical": 95, "for": "1m"})
    )
    assert feed(ev, DISK, 0, 50) == []
    assert moves(feed(ev, DISK, 10_000, 96)) == [("inactive", "pending", "critical")]
    assert feed(ev, DISK, 40_000, 97) == []
    fired = feed(ev, DISK, 70_000, 97)
    assert moves(fired) == [("pending", "firing", "critical")]
    assert (fired[0].starts_at, fired[0].ends_at, fired[0].value) == (70_000, None, 97)
    assert feed(ev, DISK, 80_000, 98) == []  # still firing: no new transition
    resolved = feed(ev, DISK, 90_000, 40)
    assert moves(resolved) == [("firing", "resolved", "critical")]
    assert (resolved[0].starts_at, resolved[0].ends_at) == (70_000, 90_000)


def test_pending_that_stops_holding_never_fires():
    ev = Evaluator(
        rules({"name": "d", "kind": "threshold", "metric": "disk.*", "critical": 95, "for": "1m"})
    )
    feed(ev, DISK, 0, 99)
    assert moves(feed(ev, DISK, 30_000, 10)) == [("pending", "inactive", "critical")]
    assert moves(feed(ev, DISK, 40_000, 99)) == [("inactive", "pending", "critical")]
    assert feed(ev, DISK, 90_000, 99) == []  # 50 s since it held again, not 90


def test_hysteresis_keeps_firing_down_to_clear_and_severity_moves():
    ev = Evaluator(
        rules(
            {
                "name": "d",
                "kind": "threshold",
                "metric": "disk.*",
                "warning": 85,
                "critical": 95,
                "clear": 80,
            }
        )
    )
    assert moves(feed(ev, DISK, 0, 86))[-1] == ("pending", "firing", "warning")
    assert moves(feed(ev, DISK, 1_000, 96)) == [("firing", "firing", "critical")]
    assert moves(feed(ev, DISK, 2_000, 88)) == [("firing", "firing", "warning")]
    assert feed(ev, DISK, 3_000, 81) == []  # below warning, above clear: still firing
    assert moves(feed(ev, DISK, 4_000, 79)) == [("firing", "resolved", "warning")]


def test_a_firing_alert_rises_to_critical_only_once_critical_held_for_its_for():
    """A value hovering at the critical level sent a message at each crossing; now the rise
    waits for ``for``, as a new critical alert would, and the fall is at once."""
    ev = Evaluator(rules({"name": "d", "kind": "threshold", "metric": "disk.*",
                          "warning": 85, "critical": 95, "for": "30s"}))  # fmt: skip
    feed(ev, DISK, 0, 90)
    assert moves(feed(ev, DISK, 30_000, 90)) == [("pending", "firing", "warning")]
    # Flapping across 95 every 5 s for a minute: critical never holds 30 s, no move at all.
    flaps = [t for k in range(12) for t in feed(ev, DISK, 35_000 + 5_000 * k, (96, 94)[k % 2])]
    assert flaps == []
    assert feed(ev, DISK, 100_000, 97) == []  # critical from here: rising since 100 s
    assert feed(ev, DISK, 120_000, 98) == []
    assert moves(feed(ev, DISK, 130_000, 98)) == [("firing", "firing", "critical")]
    assert moves(feed(ev, DISK, 131_000, 90)) == [("firing", "firing", "warning")]  # at once
    assert feed(ev, DISK, 132_000, 99) == []  # rising again: its 30 s start over
    assert moves(feed(ev, DISK, 162_000, 99)) == [("firing", "firing", "critical")]


def test_window_average_and_label_selection():
    ev = Evaluator(
        rules({"name": "a", "kind": "threshold", "metric": "disk.percent", "labels": {"mount": "/"},
               "over": "avg", "window": "30s", "critical": 90})
    )  # fmt: skip
    other = SeriesRef(8, "web1", "disk.percent", {"mount": "/boot"})
    assert feed(ev, other, 0, 99) == []
    feed(ev, DISK, 0, 100)
    assert [t.state for t in feed(ev, DISK, 10_000, 70)] == ["resolved"]  # avg 85
    assert [t.state for t in feed(ev, DISK, 20_000, 100)] == ["pending", "firing"]  # avg 90
    # 0 s and 10 s left the window: avg (100 + 85) / 2, still firing (with them it would be 88.75)
    assert feed(ev, DISK, 45_000, 85) == []
    assert [t.state for t in feed(ev, DISK, 55_000, 60)] == ["resolved"]


def test_host_down_follows_collection_interval_and_comes_back():
    ev = Evaluator(rules({"name": "down", "kind": "host_down"}))
    cpu = SeriesRef(1, "db1", "cpu.percent", {})
    for at in (0, 1_000, 2_000):
        feed(ev, cpu, at, 5)
    assert [t.state for t in ev.tick(20_000)] == []  # 1 s agent: down after the 30 s floor
    down = ev.tick(40_000)
    assert moves(down) == [("inactive", "pending", "critical"), ("pending", "firing", "critical")]
    assert down[0].host == "db1"
    feed(ev, cpu, 41_000, 5)
    assert [t.state for t in ev.tick(41_500)] == ["resolved"]


def test_absent_and_anomaly_rules():
    ev = Evaluator(
        rules(
            {"name": "gone", "kind": "absent", "metric": "disk.*", "after": "10s"},
            {"name": "odd", "kind": "anomaly", "metric": "disk.*", "flags": 2, "points": 3},
        )
    )
    ts = np.array([0, 1_000, 2_000], np.int64)
    out = ev.observe([DISK], [ts], [np.array([1.0, 2.0, 3.0])], flagged=[(7, 0), (7, 2_000)])
    assert [(t.rule, t.state) for t in out] == [("odd", "pending"), ("odd", "firing")]
    assert [(t.rule, t.state) for t in ev.tick(20_000)] == [("gone", "pending"), ("gone", "firing")]


def test_rules_are_matched_once_per_series():
    ev = Evaluator(
        rules(
            *(
                {"name": f"r{i}", "kind": "threshold", "metric": "x.*", "critical": 1}
                for i in range(3)
            )
        )
    )
    ref = SeriesRef(3, "h", "x.y", {})
    feed(ev, ref, 0, 0)
    assert ev._series_rules == {3: (0, 1, 2)}
    assert [t.rule for t in feed(ev, ref, 1_000, 5) if t.state == "firing"] == ["r0", "r1", "r2"]


def test_an_instance_restored_firing_resolves_on_a_quiet_value():
    """The one-comparison path for quiet series must not skip one whose alert fires from before a
    restart: restore counts it as active."""
    from hostpulse.hub.alerts.states import FIRING, Instance

    ev = Evaluator(rules({"name": "d", "kind": "threshold", "metric": "disk.*", "critical": 95}))
    ev.restore([Instance("d", "threshold", DISK.host, DISK.metric, dict(DISK.labels), DISK.id,
                         state=FIRING, severity="critical", since=1_000, starts_at=1_000)])  # fmt: skip
    resolved = feed(ev, DISK, 5_000, 40)
    assert moves(resolved) == [("firing", "resolved", "critical")]
    assert resolved[0].starts_at == 1_000
    assert feed(ev, DISK, 6_000, 40) == []  # and quiet from then on
    assert moves(feed(ev, DISK, 7_000, 99)) == [("resolved", "pending", "critical"),
                                                ("pending", "firing", "critical")]  # fmt: skip


def test_window_max_and_min_match_a_recount_of_the_window():
    """The incremental window (monotonic deques, running sum) against the window's points
    re-read every batch, over random batches."""
    from hostpulse.hub.alerts.states import Window

    rng = np.random.default_rng(3)
    for over in ("avg", "max", "min"):
        window, points, at = Window(over, 10_000), [], 0
        for _ in range(300):
            n = int(rng.integers(1, 6))
            ts = [at + 700 * k for k in range(n)]
            at = ts[-1] + int(rng.integers(1, 4000))
            values = [float(x) for x in rng.normal(50, 20, n)]
            got = window.add(ts, values)
            points = [(t, x) for t, x in points + list(zip(ts, values)) if t > ts[-1] - 10_000]
            kept = [x for _, x in points]
            want = {"avg": sum(kept) / len(kept), "max": max(kept), "min": min(kept)}[over]
            assert abs(got - want) < 1e-9, (over, got, want)


def test_rules_of_different_levels_on_one_series_each_move_on_their_own():
    """The pass over a series' rules stops at the first level above the value while nothing is
    pending or firing; once one fires, every rule is judged until all are quiet again."""
    ev = Evaluator(
        rules(
            {"name": "high", "kind": "threshold", "metric": "disk.*", "critical": 95},
            {"name": "low", "kind": "threshold", "metric": "disk.*", "warning": 80},
            {"name": "mid", "kind": "threshold", "metric": "disk.*", "warning": 90},
        )
    )
    assert feed(ev, DISK, 0, 85) and [
        (t.rule, t.state) for t in ev.observe([DISK], [np.array([1], np.int64)], [np.array([92.0])])
    ] == [("mid", "pending"), ("mid", "firing")]
    assert [(t.rule, t.state) for t in feed(ev, DISK, 2, 99)] == [("high", "pending"),
                                                                   ("high", "firing")]  # fmt: skip
    assert [(t.rule, t.state) for t in feed(ev, DISK, 3, 50)] == [
        ("low", "resolved"), ("mid", "resolved"), ("high", "resolved")
    ]  # fmt: skip
    assert feed(ev, DISK, 4, 50) == []
    assert [(t.rule, t.state) for t in feed(ev, DISK, 5, 81)] == [("low", "pending"),
                                                                   ("low", "firing")]  # fmt: skip
