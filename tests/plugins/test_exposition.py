from __future__ import annotations

import math

from recorded import DATA, FakeClock, by_key, key

from hostpulse.plugins.exposition import metric_name, parse, to_samples, unit_of
from hostpulse.plugins.rates import Rates


def test_recorded_exporter_page_parses_every_line() -> None:
    page = parse((DATA / "node_exporter_1.prom").read_text())
    assert page.skipped == 0
    points = {(p.name, tuple(sorted(p.labels.items()))): p for p in page.points}
    assert len(points) == len(page.points) == 27
    cpu = points[("node_cpu_seconds_total", (("cpu", "0"), ("mode", "user")))]
    assert (cpu.value, cpu.type) == (6290.02, "counter")
    assert points[("go_gc_duration_seconds_count", ())].type == "summary"
    assert points[("node_http_request_duration_seconds_bucket", (("le", "+Inf"),))].type == "histogram"
    assert points[("node_memory_MemAvailable_bytes", ())].type == "untyped"
    (mtime,) = [p for p in page.points if p.name == "node_textfile_mtime_seconds"]
    assert mtime.labels == {"file": '/var/lib/node_exporter/backup "nightly".prom'}
    assert math.isnan(points[("node_arp_entries", (("device", "eth0"),))].value)


def test_odd_lines_are_skipped_and_counted() -> None:
    page = parse(
        'ok 1\n'
        'bad{a="unterminated} 1\n'
        '{no_name="x"} 1\n'
        'two values 1 2 3\n'
        'escaped{path="C:\\\\tmp",msg="a\\nb"} 2 1764095000000\n'
        'trailing_comma{a="1",} 3\n'
        'exemplar_total 4 # {trace_id="abc"} 1\n'
        'not_a_number abc\n'
        '# EOF\n'
        'after_eof 5\n'
    )
    assert [(p.name, p.labels, p.value) for p in page.points] == [
        ("ok", {}, 1.0),
        ("escaped", {"path": "C:\\tmp", "msg": "a\nb"}, 2.0),
        ("trailing_comma", {"a": "1"}, 3.0),
        ("exemplar_total", {}, 4.0),
    ]
    assert page.skipped == 4


def test_counters_become_rates_and_buckets_are_left_out(clock: FakeClock) -> None:
    rates = Rates(clock)
    first = parse((DATA / "node_exporter_1.prom").read_text())
    second = parse((DATA / "node_exporter_2.prom").read_text())
    rates.tick()
    gauges = by_key(list(to_samples(first.points, "prom", rates)))
    assert gauges[key("prom.go_goroutines")] == 8.0
    assert not any(metric.endswith("_per_s") for metric, _ in gauges)
    clock.advance(10.0)
    rates.tick()
    samples = list(to_samples(second.points, "prom", rates))
    values = by_key(samples)
    assert values[key("prom.node_cpu_seconds_per_s", cpu="0", mode="user")] == 0.2
    assert values[key("prom.node_network_receive_bytes_per_s", device="eth0")] == 10_000.0
    assert values[key("prom.go_gc_duration_seconds_count_per_s")] == 1.0
    assert values[key("prom.node_load1")] == 0.61
    assert values[key("prom.go_gc_duration_seconds", quantile="0.5")] == 4.3811e-05
    assert values[key("prom.node_memory_memavailable_bytes")] == 2.4549728256e10
    assert not any("bucket" in metric for metric, _ in values)
    assert key("prom.node_arp_entries", device="eth0") not in values  # NaN is dropped
    units = {s.metric: s.unit for s in samples}
    assert units["prom.node_network_receive_bytes_per_s"] == "B/s"
    assert units["prom.node_cpu_seconds_per_s"] == "s/s"
    assert units["prom.node_hwmon_temp_celsius"] == "°C"


def test_max_series_and_extra_labels(clock: FakeClock) -> None:
    page = parse("a 1\nb{instance=\"mine\"} 2\nc 3\n")
    samples = list(to_samples(page.points, "x", Rates(clock), max_series=2,
                              extra_labels={"instance": "host:9100"}))
    assert [(s.metric, s.labels) for s in samples] == [
        ("x.a", {"instance": "host:9100"}), ("x.b", {"instance": "mine"}),
    ]


def test_names() -> None:
    assert metric_name("prom", "node:cpu_Rate5m") == "prom.node_cpu_rate5m"
    assert metric_name("", "queue.depth") == "queue.depth"
    assert metric_name("exec", "Disk Temp (°C)") == "exec.disk_temp_c"
    assert unit_of("http_request_duration_seconds_total") == "s"
    assert unit_of("node_load1") == ""
