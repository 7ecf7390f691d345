"""What ingest's decoding costs by body size, in this process: where it reaches ~10-20 ms (the
size above which hub/api/ingest.py decodes in a worker thread), what the thread hop costs, and
whether the event loop gets turns while a big body is decoded in that thread (issue 18).

    .venv/bin/python bench/parse_cost.py [--repeat 5]

Per shape: the body's size, the median of ``parse_batch`` (msgspec, hand checks; in pieces above
hub/api/wire.py's PIECES_ABOVE) and of msgspec's decode in one piece, of the pydantic
fallback an invalid body of that shape takes, of the limit checks + columns + keep_once that follow,
and of gzip inflate in the middleware's 1 MiB pieces (the longest piece). Then the median hop of
``run_in_executor`` for a function doing nothing, and, for the biggest bodies, the longest gap of a
1 ms watcher task on the loop while the thread decodes. Shared machines vary by +-30 % or more.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import statistics
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, cast

from pydantic import ValidationError

from hostpulse.hub.api import ingest, wire
from hostpulse.hub.api.dedupe import keep_once
from hostpulse.hub.api.wire import IngestBatch, SeriesIn, parse_batch
from hostpulse.hub.errors import HubError
from hostpulse.hub.settings import Settings
from hostpulse.hub.web.server import tune_gc
from hostpulse.wire import now_ms

#: (series, points): per-second shapes, the limits' largest, and bodies past them (refused by
#: the limits only after they are decoded).
SHAPES = [(50, 1), (500, 1), (1000, 1), (2000, 1), (5000, 1), (1, 1000), (50, 1000), (5000, 10),
          (20000, 1), (100_000, 1), (1, 200_000)]


def body(series: int, points: int, bad: bool = False) -> bytes:
    start = now_ms() - 3_600_000
    batch = {"version": 1, "batch_id": f"b-{series}-{points}", "host": "h", "agent": {"version": "1"},
             "series": [{"metric": f"cost.m{i}", "labels": {"cpu": str(i % 8)}, "unit": "%",
                         "ts": list(range(start, start + points)),
                         "values": [float(j % 7) + 0.5 for j in range(points)]}
                        for i in range(series)]}
    if bad:  # one value of the wrong type at the very end: the fast path refuses, pydantic answers
        batch["series"][-1]["values"][-1] = "x"  # type: ignore[index]
    return json.dumps(batch).encode()


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def after_parse(data: Any, settings: Settings) -> None:
    """What ingest does with a parsed batch before it queues it: limits, columns, keep_once."""
    with contextlib.suppress(HubError):  # past the limits: the checks ran to the refusal
        ingest._check_limits(settings, data)
    ts, values, offsets = ingest._columns(data)
    keep_once(cast("list[SeriesIn]", data.series), ts, values, offsets)


def decode_all(raw: bytes, settings: Settings) -> object:
    """ingest's _decode, limits refusals included."""
    with contextlib.suppress(HubError):
        return ingest._decode(raw, "h", settings)
    return None


def refuse_all(raw: bytes, settings: Settings) -> object:
    """ingest's _decode of a body it refuses, as the client is answered (limits or the model)."""
    with contextlib.suppress(HubError, ValidationError):
        return ingest._decode(raw, "h", settings)
    return None


def longest_inflate_piece(compressed: bytes) -> float:
    inflater = zlib.decompressobj(wbits=31)
    longest, chunk = 0.0, compressed
    while chunk and not inflater.eof:
        start = time.perf_counter()
        inflater.decompress(chunk, 1 << 20)
        longest = max(longest, time.perf_counter() - start)
        chunk = inflater.unconsumed_tail
    return longest * 1000


def pydantic_once(raw: bytes) -> None:
    try:
        IngestBatch.model_validate_json(raw)
    except ValidationError:
        pass


def pydantic_ms(raw: bytes, repeat: int) -> float:
    return median_ms(partial(pydantic_once, raw), repeat)


async def loop_gap_ms(
    decode: Callable[[bytes], object], raw: bytes, executor: ThreadPoolExecutor
) -> tuple[float, float]:
    """(longest gap of a 1 ms watcher while the thread decodes, the decode's own wall time)."""
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            gaps.append((time.perf_counter() - before - 0.001) * 1000)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    await loop.run_in_executor(executor, decode, raw)
    wall = (time.perf_counter() - start) * 1000
    done.set()
    await watcher
    return max(gaps), wall


async def hop_us(executor: ThreadPoolExecutor, repeat: int = 2000) -> float:
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await loop.run_in_executor(executor, int)
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    tune_gc()  # the hub's collector settings: what the decode allocates is collected as there
    print(f"{'shape':>14} {'bytes':>11} {'parse ms':>9} {'1 piece':>8} {'pydantic':>9} "
          f"{'after':>7} {'gz piece':>8}")
    for series, points in SHAPES:
        raw = body(series, points)
        parse = median_ms(partial(parse_batch, raw), args.repeat)
        whole = median_ms(partial(wire._decode, raw), args.repeat)
        bad = body(series, points, bad=True)
        fallback = pydantic_ms(bad, max(1, args.repeat // 2))
        data = parse_batch(raw)
        after = median_ms(partial(after_parse, data, settings), args.repeat)
        piece = longest_inflate_piece(gzip.compress(raw, 6))
        print(f"{series:>7}x{points:<6} {len(raw):>11,} {parse:>9.2f} {whole:>8.2f} {fallback:>9.2f} "
              f"{after:>7.2f} {piece:>8.2f}")

    async def threaded() -> None:
        with ThreadPoolExecutor(1) as executor:
            print(f"thread hop (run_in_executor of a no-op): median {await hop_us(executor):.0f} us")
            # (how, whether the body has its bad value): "pydantic" is the model over the whole
            # refused body, as ingest answered it before; "ingest refusing" is ingest's decode
            # of the same body now (hub/api/wire.py's _raise_in_pieces)
            ways: dict[str, tuple[Callable[[bytes], object], bool]] = {
                "one piece": (wire._decode, False),
                "parse_batch": (parse_batch, False),
                "ingest's decode": (partial(decode_all, settings=settings), False),
                "pydantic": (pydantic_once, True),
                "ingest refusing": (partial(refuse_all, settings=settings), True),
            }
            for series, points in [(5000, 10), (20000, 1), (100_000, 1), (1, 200_000)]:
                for name, (decode, bad) in ways.items():
                    raw = body(series, points, bad=bad)
                    runs = [await loop_gap_ms(decode, raw, executor) for _ in range(args.repeat)]
                    gap = statistics.median(r[0] for r in runs)
                    wall = statistics.median(r[1] for r in runs)
                    print(f"{series}x{points} {name} in the thread: {wall:.1f} ms, the loop's "
                          f"longest gap meanwhile {gap:.1f} ms (medians)")

    asyncio.run(threaded())


if __name__ == "__main__":
    main()
