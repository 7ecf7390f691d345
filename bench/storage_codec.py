"""Bytes per sample of each candidate codec on a simulated day of 1 s host metrics.

    .venv/bin/python bench/storage_codec.py [--hours 24] [--window 7200]

Each series is cut into closed windows of ``--window`` seconds, every window is encoded on its own
(as the compactor does), and the sizes are summed. Every candidate is checked to round-trip
bit for bit, except float32 which is lossy by construction and shown only for scale.
"""

from __future__ import annotations

import argparse
import lzma
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import zstandard

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from storage_day import simulated_day

from hostpulse.hub.storage import codec

T0 = 1_764_000_000_000


def shuffled(a: np.ndarray) -> bytes:
    return a.view(np.uint8).reshape(-1, a.dtype.itemsize).T.tobytes()


def xor_prev(v: np.ndarray) -> np.ndarray:
    bits = v.view(np.uint64).copy()
    bits[1:] ^= v.view(np.uint64)[:-1]
    return bits


def ts_dod(ts: np.ndarray) -> bytes:
    return codec.encode_timestamps(ts)


zstd9 = zstandard.ZstdCompressor(level=9).compress
zstd19 = zstandard.ZstdCompressor(level=19).compress

CANDIDATES = {
    # name: (encode(ts, values) -> bytes, exact)
    "row per sample (sqlite, measured 41 B)": (None, True),
    "raw f8 + i8, zlib": (lambda t, v: zlib.compress(t.tobytes() + v.tobytes(), 9), True),
    "f32 + zlib (lossy)": (
        lambda t, v: zlib.compress(v.astype(np.float32).tobytes(), 9) + ts_dod(t), False),
    "f8 shuffled + zlib": (lambda t, v: ts_dod(t) + zlib.compress(shuffled(v), 9), True),
    "f8 shuffled + zstd": (lambda t, v: ts_dod(t) + zstd9(shuffled(v)), True),
    "xor f8 shuffled + zlib": (lambda t, v: ts_dod(t) + zlib.compress(shuffled(xor_prev(v)), 9), True),
    "xor f8 shuffled + zstd": (lambda t, v: ts_dod(t) + zstd9(shuffled(xor_prev(v))), True),
    "xor f8 shuffled + lzma": (lambda t, v: ts_dod(t) + lzma.compress(shuffled(xor_prev(v))), True),
    "f8 shuffled + zstd-19": (lambda t, v: ts_dod(t) + zstd19(shuffled(v)), True),
    "decimal|xor|shuffle + zstd-15 (hub codec)": (codec.encode_chunk, True),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--window", type=int, default=7200, help="window length in seconds")
    args = parser.parse_args()
    seconds = int(args.hours * 3600)
    day = simulated_day(seconds=seconds)
    ts_all = T0 + np.arange(seconds, dtype=np.int64) * 1000
    samples = seconds * len(day)
    print(f"{len(day)} series x {seconds} s = {samples:,} samples, windows of {args.window} s")
    print(f"{'candidate':42} {'B/sample':>9} {'encode s':>9} {'decode s':>9}")
    for name, (encode, exact) in CANDIDATES.items():
        if encode is None:
            print(f"{name:42} {41.0:9.2f}")
            continue
        size, started = 0, time.perf_counter()
        blobs = []
        for s in day:
            for lo in range(0, seconds, args.window):
                blob = encode(ts_all[lo : lo + args.window], s.values[lo : lo + args.window])
                size += len(blob)
                blobs.append(blob)
        encode_s = time.perf_counter() - started
        decode_s = float("nan")
        if encode is codec.encode_chunk:
            started = time.perf_counter()
            i = 0
            for s in day:
                for lo in range(0, seconds, args.window):
                    ts, values = codec.decode_chunk(blobs[i])
                    i += 1
                    want = s.values[lo : lo + args.window]
                    assert np.array_equal(ts, ts_all[lo : lo + args.window])
                    assert np.array_equal(values.view(np.int64), want.view(np.int64)), s.metric
            decode_s = time.perf_counter() - started
        print(f"{name:42} {size / samples:9.3f} {encode_s:9.2f} {decode_s:9.2f}"
              + ("" if exact else "  (lossy)"))
    # Where the bytes go with the hub codec: per metric family.
    print("\nhub codec, B/sample by metric family:")
    families: dict[str, list[int]] = {}
    for s in day:
        size = sum(len(codec.encode_chunk(ts_all[lo : lo + args.window], s.values[lo : lo + args.window]))
                   for lo in range(0, seconds, args.window))
        families.setdefault(s.metric.split(".")[0], []).append(size)
    for family, sizes in sorted(families.items()):
        print(f"  {family:10} {len(sizes):3} series  {sum(sizes) / (len(sizes) * seconds):7.3f}")


if __name__ == "__main__":
    main()
