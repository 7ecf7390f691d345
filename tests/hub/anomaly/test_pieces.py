"""Detection of a group in pieces (hub/anomaly/pieces.py) gives what one call per batch in order
gives, to the bit, and hands the loop back while it runs."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from hostpulse.hub.anomaly import AnomalyEngine, BatchResult
from hostpulse.hub.anomaly.pieces import detect_in_pieces


def test_pieces_score_each_series_in_order_across_the_batches_of_a_group() -> None:
    rng = np.random.default_rng(1)
    ids, lengths = [1, 2, 3, 1, 4], [700, 3, 1, 50, 3000]  # series 1 in two batches
    ts, values, last = [], [], {}
    for series_id, n in zip(ids, lengths, strict=True):
        start = last.get(series_id, 0)
        ts.append(np.arange(start, start + n, dtype=np.int64) * 1000 + 5)
        last[series_id] = start + n
        spike = np.r_[np.zeros(n - 10), np.full(10, 50.0)] if series_id == 4 else 0.0
        values.append(rng.normal(size=n) + spike)
    one_by_one = AnomalyEngine()
    expected = [one_by_one.detect([i], [t], [v], ["cpu.x"]) for i, t, v in zip(ids, ts, values, strict=True)]

    async def run() -> tuple[BatchResult, int]:
        gaps: list[float] = []
        done = asyncio.Event()

        async def watch() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0)
                gaps.append(time.perf_counter() - before)

        watcher = asyncio.create_task(watch())
        result = await detect_in_pieces(AnomalyEngine(), ids, ts, values, ["cpu.x"] * len(ids))
        done.set()
        await watcher
        return result, len(gaps)

    result, turns = asyncio.run(run())
    for i, want in enumerate(expected):
        a, b = int(result.offsets[i]), int(result.offsets[i + 1])
        wanted_columns = (want.score, want.low, want.high, want.flag)
        for got, wanted in zip(result.series(i), wanted_columns, strict=True):
            assert np.array_equal(got, wanted), i
        assert b - a == lengths[i]
    assert result.flag.sum() > 0
    # ~3,750 steps, ~0.5 s of work in pieces of ~2 ms: the loop ran between them, many times (in
    # one piece it would run once or twice). A count, not a time: a loaded machine makes pieces of
    # fewer steps, so more turns, where a bound on the longest gap failed under load.
    assert turns >= 20, turns
