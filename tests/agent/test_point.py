from __future__ import annotations

import math

import pytest

from hostpulse import Sample
from hostpulse.agent.collect.point import CheckedSample, Invalid, check_sample


def test_a_good_sample_becomes_a_point_with_the_tick_as_ts():
    point = check_sample(Sample("cpu.percent", 12, {"cpu": "0"}, "%"), tick_ms=1000)
    assert point == CheckedSample("cpu.percent", (("cpu", "0"),), "%", 1000, 12.0)
    assert isinstance(point.value, float)


def test_labels_are_sorted_so_equal_series_group_together():
    a = check_sample(Sample("m", 1, {"b": "2", "a": "1"}), 0)
    b = check_sample(Sample("m", 1, {"a": "1", "b": "2"}), 0)
    assert a.labels == b.labels == (("a", "1"), ("b", "2"))


def test_an_explicit_ts_is_kept():
    assert check_sample(Sample("m", 1, ts=1_700_000_000_123), 5).ts == 1_700_000_000_123


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        (Sample("m", math.nan), "not finite"),
        (Sample("m", math.inf), "not finite"),
        (Sample("m", -math.inf), "not finite"),
        (Sample("m", "12"), "not a number"),
        (Sample("m", None), "not a number"),  # type: ignore[arg-type]
        (Sample("m", True), "not a number"),
        (Sample("Bad-Name", 1), "dotted lowercase"),
        (Sample("m" * 201, 1), "dotted lowercase"),
        (Sample("m", 1, {"a": 1}), "string to a string"),  # type: ignore[dict-item]
        (Sample("m", 1, ["a"]), "mapping"),  # type: ignore[arg-type]
        (Sample("m", 1, unit=3), "unit"),  # type: ignore[arg-type]
        (Sample("m", 1, ts="now"), "epoch milliseconds"),  # type: ignore[arg-type]
        (("m", 1), "expected a Sample"),
        ("m", "expected a Sample"),
    ],
)
def test_bad_samples_are_refused_with_a_reason(sample, reason):
    with pytest.raises(Invalid, match=reason):
        check_sample(sample, 0)


def test_as_json_is_the_once_line_shape():
    point = check_sample(Sample("mem.used", 5, {"a": "b"}, "B", ts=7), 0)
    assert point.as_json() == {"metric": "mem.used", "labels": {"a": "b"}, "ts": 7, "value": 5.0, "unit": "B"}


def test_the_agent_refuses_exactly_what_the_hub_refuses_by_default():
    """The agent's limits are the hub's defaults: a sample at the limit goes, one over it does not."""
    from hostpulse.hub.settings import Settings

    settings = Settings()
    longest = "v" * settings.max_label_length
    assert check_sample(Sample("m", 1, {"k": longest}), 0).labels == (("k", longest),)
    with pytest.raises(Invalid, match="longer than"):
        check_sample(Sample("m", 1, {"k": longest + "v"}), 0)
    most = {f"k{i}": "v" for i in range(settings.max_labels)}
    assert len(check_sample(Sample("m", 1, most), 0).labels) == settings.max_labels
    with pytest.raises(Invalid, match="labels, at most"):
        check_sample(Sample("m", 1, {**most, "one_more": "v"}), 0)
