"""Batches: points grouped by series into the columnar wire format of docs/protocol.md, gzipped.

A batch gets its id when it is sealed and keeps it for life — through retries, the spool and
restarts — which is what lets the hub store every batch exactly once.
"""

from __future__ import annotations

import gzip
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from hostpulse import __version__
from hostpulse.agent.collect.point import CheckedSample
from hostpulse.wire import MAX_POINTS_PER_SERIES, MAX_SAMPLES_PER_BATCH, MAX_SERIES_PER_BATCH

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_batch_id(ms: int | None = None) -> str:
    """A ULID: 48 bits of epoch milliseconds then 80 random bits, 26 Crockford base-32 characters.

    Ids sort by creation time, and fit the protocol's ``[A-Za-z0-9_.:-]{1,64}``.
    """
    ms = time.time_ns() // 1_000_000 if ms is None else ms
    number = (ms & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        number, digit = divmod(number, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


@dataclass(frozen=True, slots=True)
class Batch:
    """A sealed batch, ready to send: its id, the gzipped JSON body and how many samples it holds.

    ``host`` and ``hub`` are the identity it was collected under; they travel with it through the
    spool, so an agent restarted as another host or for another hub recognises it ("" = unknown,
    a record spooled before identities were kept).
    """

    batch_id: str
    body: bytes
    samples: int
    host: str = ""
    hub: str = ""


def encode(batch_id: str, host: str, series: Iterable[dict[str, object]]) -> bytes:
    """The gzipped JSON body of one ingest request."""
    payload = {
        "version": 1,
        "batch_id": batch_id,
        "host": host,
        "agent": {"version": __version__},
        "series": list(series),
    }
    # Level 5: within a few per cent of level 9's size on this data, at a third of the CPU.
    return gzip.compress(orjson.dumps(payload), compresslevel=5, mtime=0)


def decode(body: bytes) -> dict[str, object]:
    """The JSON payload of a gzipped body (for the dead-letter file and tests)."""
    payload: dict[str, object] = orjson.loads(gzip.decompress(body))
    return payload


@dataclass
class Batcher:
    """Accumulates points; a batch is sealed when it holds ``max_samples`` or is ``max_age`` old."""

    host: str
    max_samples: int = 5000
    max_age: float = 1.0
    #: The hub URL the batches are collected for (their identity, with ``host``).
    hub: str = ""
    _series: dict[tuple[str, tuple[tuple[str, str], ...], str], tuple[list[int], list[float]]] = field(
        default_factory=dict
    )
    _count: int = 0
    _since: float = 0.0

    def __len__(self) -> int:
        return self._count

    def add(self, points: Iterable[CheckedSample]) -> list[Batch]:
        """Add points; return the batches that filled up on the way (usually none)."""
        sealed: list[Batch] = []
        for point in points:
            if self._count == 0:
                self._since = time.monotonic()
            key = (point.metric, point.labels, point.unit)
            column = self._series.get(key)
            if column is None:
                column = self._series[key] = ([], [])
            column[0].append(point.ts)
            column[1].append(point.value)
            self._count += 1
            # The hub's per-batch limits (hostpulse.wire) bound a batch too, whatever max_samples.
            if (
                self._count >= min(self.max_samples, MAX_SAMPLES_PER_BATCH)
                or len(column[0]) >= MAX_POINTS_PER_SERIES
                or len(self._series) >= MAX_SERIES_PER_BATCH
            ):
                batch = self.seal()
                assert batch is not None  # it holds at least the point just added
                sealed.append(batch)
        return sealed

    def age(self) -> float:
        """Seconds since the oldest unsealed point arrived (0 when empty)."""
        return time.monotonic() - self._since if self._count else 0.0

    def due(self) -> bool:
        return self._count > 0 and self.age() >= self.max_age

    def seal(self) -> Batch | None:
        """Turn what is pending into a batch with a fresh id, or None when nothing is pending."""
        if not self._count:
            return None
        series: list[dict[str, object]] = [
            {"metric": metric, "labels": dict(labels), "unit": unit, "ts": ts, "values": values}
            for (metric, labels, unit), (ts, values) in self._series.items()
        ]
        batch_id = new_batch_id()
        batch = Batch(batch_id, encode(batch_id, self.host, series), self._count, self.host, self.hub)
        self._series = {}
        self._count = 0
        return batch
