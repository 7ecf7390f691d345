from __future__ import annotations

import re

from hostpulse import __version__
from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.deliver.batch import Batcher, decode, new_batch_id
from hostpulse.wire import MAX_POINTS_PER_SERIES, MAX_SERIES_PER_BATCH

BATCH_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def p(metric: str, ts: int, value: float, **labels: str) -> CheckedSample:
    return CheckedSample(metric, tuple(sorted(labels.items())), "%", ts, value)


def test_points_are_grouped_by_series_into_parallel_arrays():
    batcher = Batcher("web-1", max_samples=100, max_age=60)
    assert batcher.add([p("cpu.percent", 1000, 1.0, cpu="0"), p("cpu.percent", 1000, 2.0, cpu="1")]) == []
    assert batcher.add([p("cpu.percent", 2000, 3.0, cpu="0")]) == []
    batch = batcher.seal()
    assert batch is not None and batch.samples == 3
    payload = decode(batch.body)
    assert payload == {
        "version": 1,
        "batch_id": batch.batch_id,
        "host": "web-1",
        "agent": {"version": __version__},
        "series": [
            {"metric": "cpu.percent", "labels": {"cpu": "0"}, "unit": "%", "ts": [1000, 2000], "values": [1.0, 3.0]},
            {"metric": "cpu.percent", "labels": {"cpu": "1"}, "unit": "%", "ts": [1000], "values": [2.0]},
        ],
    }
    assert batcher.seal() is None and len(batcher) == 0


def test_a_batch_is_sealed_when_full_and_nothing_is_lost():
    batcher = Batcher("h", max_samples=4, max_age=60)
    sealed = batcher.add([p("m", ts, float(ts)) for ts in range(10)])
    assert [b.samples for b in sealed] == [4, 4]
    last = batcher.seal()
    assert last is not None and last.samples == 2
    values = [v for b in [*sealed, last] for s in decode(b.body)["series"] for v in s["values"]]
    assert values == [float(ts) for ts in range(10)]


def test_a_batch_stays_within_the_hubs_batch_limits_whatever_max_samples():
    # A hub refuses 413 a batch over these (hostpulse.wire), and a refused batch is dead-lettered:
    # the agent must never build one, even when batch_max_samples is set higher.
    batcher = Batcher("h", max_samples=1_000_000, max_age=3600)
    one_series = batcher.add([p("m", ts, 1.0) for ts in range(2 * MAX_POINTS_PER_SERIES + 5)])
    assert [b.samples for b in one_series] == [MAX_POINTS_PER_SERIES] * 2
    assert batcher.seal() is not None
    wide = batcher.add([p(f"m.s{i}", 0, 1.0) for i in range(MAX_SERIES_PER_BATCH + 1)])
    assert [len(decode(b.body)["series"]) for b in wide] == [MAX_SERIES_PER_BATCH]
    assert len(batcher) == 1


def test_a_batch_is_due_when_old_enough(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr("hostpulse.agent.deliver.batch.time.monotonic", lambda: clock[0])
    batcher = Batcher("h", max_samples=100, max_age=2.0)
    assert not batcher.due()
    batcher.add([p("m", 0, 1.0)])
    clock[0] += 1.5
    batcher.add([p("m", 1, 1.0)])  # a newer point does not make the batch younger
    assert not batcher.due()
    clock[0] += 0.5
    assert batcher.due()


def test_batch_ids_fit_the_protocol_are_unique_and_sort_by_time():
    ids = [new_batch_id(ms) for ms in (1_000, 2_000, 3_000) for _ in range(3)]
    assert all(BATCH_ID.match(i) and len(i) == 26 for i in ids)
    assert len(set(ids)) == len(ids)
    assert [i[:10] for i in ids] == sorted(i[:10] for i in ids)
    assert new_batch_id(1_000)[:10] < new_batch_id(2_000)[:10]
