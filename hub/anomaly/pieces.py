"""Detection of a whole group commit in small pieces, handing the event loop back between them.

The engine scores one point index of every series per numpy step, so a batch costs about
``STEP_S`` per point index plus ``SAMPLE_S`` per sample (measured on the 2-core machine the hub is
tested on: 120 us a step, 0.8 us a sample; one series of 40,000 points took 5 s in one piece and
froze every other client, issue 18). Here the group is cut into pieces of about ``PIECE_S``, by
series and by point index, with a pause of a quarter of the piece between two pieces. The model
only sizes the first piece: each next one is scaled by how long the last really took, so a
machine busier than the measured one still hands the loop back every few milliseconds.

Consistency: the points of one series are scored in the group's order, batch after batch, even
when two batches of the group carry the same series: the engine is given each series once per
piece, its points concatenated in that order. (Given twice in one call, both copies read the same
state and the last write won.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Sequence

import numpy as np

from hostpulse.hub.anomaly import AnomalyEngine, BatchResult

STEP_S = 120e-6
SAMPLE_S = 0.8e-6
#: Work of one piece (s), followed by a pause of PAUSE_RATIO of it: detection of a big group takes
#: at most 80 % of the loop's time, and another request waits a few ms, well under the 100 ms allowed.
PIECE_S = 0.002
#: Series given to the engine in one call at most: a call costs a few us per series before
#: its first step (4,096 series made a piece of 15-20 ms whatever its steps).
PIECE_SERIES = 512
#: The pause after a piece, as a share of how long the piece took (see its use below).
PAUSE_RATIO = 0.25


async def detect_in_pieces(
    engine: AnomalyEngine,
    ids: Sequence[Hashable],
    ts: Sequence[np.ndarray],
    values: Sequence[np.ndarray],
    metrics: Sequence[str],
) -> BatchResult:
    """What ``engine.detect(ids, ts, values, metrics)`` returns, computed in pieces; ``ids`` may
    repeat (a series in two batches of a group), and each series is scored in the order given."""
    n = len(ids)
    lengths = np.fromiter((len(t) for t in ts), dtype=np.intp, count=n)
    offsets = np.zeros(n + 1, dtype=np.intp)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    flat_t = np.concatenate(ts).astype(np.int64, copy=False) if n else np.zeros(0, np.int64)
    flat_v = np.concatenate(values).astype(np.float64, copy=False) if n else np.zeros(0)

    # The group in "series order": each distinct series once, its points batch after batch;
    # ``perm`` maps that order back to the group's (a vectorised gather, no per-block arrays).
    first_of: dict[Hashable, int] = {}
    owner = np.fromiter((first_of.setdefault(s, len(first_of)) for s in ids), np.intp, count=n)
    unique = list(first_of)
    order = np.argsort(owner, kind="stable")
    starts, sizes_b = offsets[:-1][order], lengths[order]
    perm = _ranges(starts, sizes_b)
    seq_t, seq_v = flat_t[perm], flat_v[perm]
    size = np.bincount(owner, weights=lengths, minlength=len(unique)).astype(np.intp)
    begin = np.zeros(len(unique) + 1, dtype=np.intp)
    np.cumsum(size, out=begin[1:])
    metric_of = {series_id: metrics[i] for i, series_id in reversed(list(enumerate(ids)))}

    seq_out = (np.zeros(total), np.zeros(total), np.zeros(total), np.zeros(total, dtype=bool))
    first, slowdown, last = True, 1.0, 0.0
    for lo in range(0, len(unique), PIECE_SERIES):
        sizes = size[lo : lo + PIECE_SERIES]
        k = 0
        while k < int(sizes.max(initial=0)):
            end, estimate = _piece_end(sizes, k, PIECE_S / slowdown)
            if not first:
                # A quarter of the last piece, not one turn of the loop: a request needs several
                # turns (accept, read, a database round trip, write), and with one turn per
                # piece each waited a piece (/healthz took 80 ms on PostgreSQL with pieces of
                # 4,096 series; 42 ms median with 512). A pause as long as the piece halved big
                # batches' throughput (bench/ingest_throughput.py closed loop, one run, same
                # machine: 322k samples/s at 1.0, 410k at 0.25, 505k with no pause); at 0.25
                # tests/hostile/test_stalls.py's /healthz medians stay under 9 ms.
                await asyncio.sleep(last * PAUSE_RATIO)
            first = False
            started = time.perf_counter()
            live = lo + np.flatnonzero(sizes > k)
            a = begin[live] + k
            b = begin[live] + np.minimum(end, size[live])
            spans = list(zip(a.tolist(), b.tolist(), strict=True))
            piece = engine.detect(
                [unique[u] for u in live.tolist()],
                [seq_t[i:j] for i, j in spans],
                [seq_v[i:j] for i, j in spans],
                [metric_of[unique[u]] for u in live.tolist()],
            )
            at = _ranges(a, b - a)
            for column, result in zip(
                seq_out, (piece.score, piece.low, piece.high, piece.flag), strict=True
            ):
                column[at] = result
            last = time.perf_counter() - started
            slowdown = max(0.25, last / estimate)
            k = end
    score, low, high, flag = (np.empty_like(column) for column in seq_out)
    for column, seq_column in zip((score, low, high, flag), seq_out, strict=True):
        column[perm] = seq_column
    names = [engine.detector_name(series_id) or "" for series_id in ids]
    return BatchResult(score, low, high, flag, offsets=offsets, detector=names)


def _piece_end(sizes: np.ndarray, start: int, budget: float) -> tuple[int, float]:
    """The point index where a piece beginning at ``start`` ends, as many steps as the model
    fits in ``budget`` at the number of series still active at each step (at least one step),
    and the model's estimate of that piece."""
    end, spent = start, 0.0
    longest = int(sizes.max())
    while end < longest:
        width = int(np.count_nonzero(sizes > end))
        spent += STEP_S + SAMPLE_S * width
        end += 1
        if spent >= budget:
            break
    return end, spent


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``starts[i], starts[i] + 1, … starts[i] + lengths[i] - 1`` for every i, end to end."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)
