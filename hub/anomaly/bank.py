"""A detector bank: one detector's state for many series, as rows of one float64 matrix.

The bank runs a batch point-index by point-index: at index ``k`` it gathers the state rows of
every series with more than ``k`` points, calls ``detector.step`` once, and scatters the rows
back. Series are sorted by length first so the active ones are always a prefix. That is what
makes a per-sample cost well under a microsecond possible in Python: the per-call overhead of
numpy is paid per point index, not per sample.

Snapshots are in the format of :mod:`.snapshot`, shared with ``hostpulse detect``'s stream.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from hostpulse.hub.anomaly.detector import Detector, FloatArray
from hostpulse.hub.anomaly.options import FLAG_SCORE, VALUE_LIMIT
from hostpulse.hub.anomaly.snapshot import BIG, SnapshotError, pack, unpack

__all__ = ["VALUE_LIMIT", "DetectorBank", "SnapshotError"]



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
        body = self._state[slot].astype("<f8").tobytes()
        return pack(self.detector.name, int(self._seen[slot]), int(self._last[slot]), body)

    def restore(self, series_id: Hashable, blob: bytes) -> None:
        """Replace this series' state with a snapshot; raise SnapshotError if it does not fit."""
        seen, last, raw = unpack(blob, self.detector.name, self.detector.state_size)
        body = np.frombuffer(raw, dtype="<f8")
        slot = self._slot.get(series_id)
        if slot is None:
            slot = self._allocate(series_id)
        self._state[slot] = np.nan_to_num(body, nan=0.0, posinf=BIG, neginf=-BIG)
        self._seen[slot] = seen
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
