"""A detector bank: one detector's state for many series, as rows of one float64 matrix.

The bank runs a batch point-index by point-index: at index ``k`` it gathers the state rows of
every series with more than ``k`` points, calls ``detector.step`` once, and scatters the rows
back. Series are sorted by length first so the active ones are always a prefix. That is what
makes a per-sample cost well under a microsecond possible in Python: the per-call overhead of
numpy is paid per point index, not per sample.

Snapshot format (little-endian): ``b"HPA1"``, u16 name length, name (UTF-8), u32 state size,
i64 samples seen, i64 last timestamp, then ``state size`` float64.
"""

from __future__ import annotations

import struct
from collections.abc import Hashable
from typing import Any

import numpy as np

from hostpulse.hub.anomaly.detector import FLAG_SCORE, Detector, FloatArray

MAGIC = b"HPA1"
_HEAD = struct.Struct("<4sH")
_TAIL = struct.Struct("<Iqq")
# Values are clamped here so no detector can overflow on differences or products of two values.
VALUE_LIMIT = 1e150
NO_TS = np.iinfo(np.int64).min


class SnapshotError(ValueError):
    """A snapshot that is corrupt, or from another detector or configuration."""


class DetectorBank:
    """State of one detector configuration for any number of series, keyed by series id."""

    def __init__(self, detector: Detector, capacity: int = 64) -> None:
        self.detector = detector
        self._slot: dict[Hashable, int] = {}
        self._free: list[int] = []
        self._state = np.zeros((0, detector.state_size), dtype=np.float64)
        self._seen = np.zeros(0, dtype=np.int64)
        self._last = np.zeros(0, dtype=np.int64)
        self._grow(capacity)

    def __len__(self) -> int:
        return len(self._slot)

    def __contains__(self, series_id: object) -> bool:
        return series_id in self._slot

    def slot(self, series_id: Hashable) -> int:
        """This series' row, allocating fresh state for an id never seen."""
        slot = self._slot.get(series_id)
        return self._allocate(series_id) if slot is None else slot

    def run(
        self,
        slots: np.ndarray,
        starts: np.ndarray,
        lengths: np.ndarray,
        ts: np.ndarray,
        values: np.ndarray,
        out: tuple[FloatArray, FloatArray, FloatArray, np.ndarray],
    ) -> None:
        """Score the points ``ts[starts[i]:starts[i]+lengths[i]]`` of series ``slots[i]``.

        Results go to the same positions of ``out = (score, low, high, flag)``.
        """
        if len(slots) == 0:
            return
        score_out, low_out, high_out, flag_out = out
        order = np.argsort(-lengths, kind="stable")
        slots, starts, lengths = slots[order], starts[order], lengths[order]
        # counts[k] = number of series with more than k points (a prefix, thanks to the sort)
        longest = int(lengths[0])
        counts = len(lengths) - np.searchsorted(lengths[::-1], np.arange(longest), side="right")
        detector, warmup = self.detector, self.detector.warmup
        for k in range(longest):
            c = int(counts[k])
            rows = slots[:c]
            idx = starts[:c] + k
            t = ts[idx]
            x = np.clip(values[idx], -VALUE_LIMIT, VALUE_LIMIT)
            last = self._last[rows]
            seen = self._seen[rows]
            dt = np.where(seen > 0, np.maximum(t - last, 0), 0).astype(np.float64)
            state = self._state[rows]
            score, low, high = detector.step(
                state, t.astype(np.float64), dt, seen.astype(np.float64), x
            )
            score = np.where(seen >= warmup, score, 0.0)
            self._state[rows] = state
            self._seen[rows] = seen + 1
            self._last[rows] = np.where(seen > 0, np.maximum(t, last), t)
            score_out[idx] = score
            low_out[idx] = low
            high_out[idx] = high
            flag_out[idx] = score >= FLAG_SCORE

    def snapshot(self, series_id: Hashable) -> bytes | None:
        """This series' state as bytes, or None if the bank has never seen it."""
        slot = self._slot.get(series_id)
        if slot is None:
            return None
        name = self.detector.name.encode()
        blob: bytes = (
            _HEAD.pack(MAGIC, len(name))
            + name
            + _TAIL.pack(self.detector.state_size, int(self._seen[slot]), int(self._last[slot]))
            + self._state[slot].astype("<f8").tobytes()
        )
        return blob

    def restore(self, series_id: Hashable, blob: bytes) -> None:
        """Replace this series' state with a snapshot; raise SnapshotError if it does not fit."""
        size = self.detector.state_size
        try:
            magic, name_len = _HEAD.unpack_from(blob, 0)
            name = bytes(blob[_HEAD.size : _HEAD.size + name_len]).decode()
            offset = _HEAD.size + name_len
            stored_size, seen, last = _TAIL.unpack_from(blob, offset)
            body = np.frombuffer(blob, dtype="<f8", offset=offset + _TAIL.size)
        except (struct.error, UnicodeDecodeError, ValueError) as exc:
            raise SnapshotError(f"corrupt anomaly snapshot: {exc}") from exc
        if magic != MAGIC or name != self.detector.name or stored_size != size or len(body) != size:
            raise SnapshotError(
                f"snapshot of {name!r} ({stored_size} values) does not fit detector "
                f"{self.detector.name!r} ({size} values)"
            )
        slot = self._slot.get(series_id)
        if slot is None:
            slot = self._allocate(series_id)
        self._state[slot] = np.nan_to_num(body, nan=0.0, posinf=1e300, neginf=-1e300)
        self._seen[slot] = max(seen, 0)
        self._last[slot] = last

    def forget(self, series_id: Hashable) -> None:
        """Drop a series' state (a deleted series); its slot is reused."""
        slot = self._slot.pop(series_id, None)
        if slot is not None:
            self._free.append(slot)

    def ids(self) -> list[Any]:
        return list(self._slot)

    def _allocate(self, series_id: Hashable) -> int:
        if not self._free:
            self._grow(max(64, 2 * len(self._seen)))
        slot = self._free.pop()
        self._slot[series_id] = slot
        self._state[slot] = self.detector.initial_state(1)[0]
        self._seen[slot] = 0
        self._last[slot] = 0
        return slot

    def _grow(self, extra: int) -> None:
        old = len(self._seen)
        self._state = np.concatenate(
            [self._state, np.zeros((extra, self.detector.state_size), dtype=np.float64)]
        )
        self._seen = np.concatenate([self._seen, np.zeros(extra, dtype=np.int64)])
        self._last = np.concatenate([self._last, np.zeros(extra, dtype=np.int64)])
        # Hand out low slots first: pop() takes from the end.
        self._free.extend(range(old + extra - 1, old - 1, -1))
