"""The anomaly engine: what the hub's ingest path calls once per batch.

It routes each series to the bank of the detector its metric is configured for (decided once,
when the series is first seen), runs every bank over its part of the batch, and returns flat
result arrays laid out exactly like the batch's concatenated values. Snapshots restored at start
are applied lazily, the first time each series shows up, so a hub with 100k series restores in
the time it takes to fill a dict.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pluggy

from hostpulse.hub.anomaly.bank import DetectorBank, SnapshotError
from hostpulse.hub.anomaly.config import AnomalyConfig, Choice, parse
from hostpulse.hub.anomaly.detector import Detector
from hostpulse.hub.anomaly.plugins import detector_classes, plugin_manager
from hostpulse.hub.errors import SettingsError

log = logging.getLogger("hostpulse.anomaly")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Per-point results of one batch, flat in the batch's order: series ``i`` owns positions
    ``offsets[i]:offsets[i+1]`` of ``score``, ``low``, ``high`` and ``flag``."""

    score: np.ndarray
    low: np.ndarray
    high: np.ndarray
    flag: np.ndarray
    offsets: np.ndarray
    detector: list[str]

    def series(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(score, low, high, flag)`` of the ``i``-th series of the batch (views, no copy)."""
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.score[a:b], self.low[a:b], self.high[a:b], self.flag[a:b]

    def points(self, i: int, ts: np.ndarray, values: np.ndarray) -> list[list[Any]]:
        """Series ``i`` as stream points ``[ts, value, score, low, high, anomaly]`` (JSON-ready:
        plain ints, floats and bools; score to 3 decimals)."""
        score, low, high, flag = self.series(i)
        return [
            [t, v, s, lo, hi, f]
            for t, v, s, lo, hi, f in zip(
                np.asarray(ts).tolist(),
                np.asarray(values, dtype=np.float64).tolist(),
                np.round(score, 3).tolist(),
                low.tolist(),
                high.tolist(),
                flag.tolist(),
                strict=True,
            )
        ]

    def flagged(self) -> tuple[np.ndarray, np.ndarray]:
        """``(series_index, point_index)`` of every flagged point: the rows to store as anomalies."""
        where = np.flatnonzero(self.flag)
        series = np.searchsorted(self.offsets, where, side="right") - 1
        return series, where - self.offsets[series]


class AnomalyEngine:
    """Streaming detection for every series of a hub, keyed by series id."""

    def __init__(
        self, config: Mapping[str, Any] | None = None, *, pm: pluggy.PluginManager | None = None
    ) -> None:
        """Build from the ``[anomaly]`` config table; raises SettingsError on a bad key or value."""
        self.config: AnomalyConfig = parse(config)
        self.classes: dict[str, type[Detector]] = detector_classes(pm or plugin_manager())
        self._banks: list[DetectorBank] = []
        self._bank_of_choice: dict[Choice, int] = {}
        self._bank_of_metric: dict[str, int] = {}
        self._where: dict[Hashable, int] = {}
        self._pending: dict[Hashable, bytes] = {}
        # Build every configured choice now, so a typo fails at start, not at the first sample.
        for choice in [self.config.default, *(c for _, c in self.config.rules)]:
            self._bank_index(choice)

    def detect(
        self,
        ids: Sequence[Hashable],
        ts: Sequence[np.ndarray],
        values: Sequence[np.ndarray],
        metrics: Sequence[str] | None = None,
    ) -> BatchResult:
        """Score a batch: series ``ids[i]`` has points ``ts[i]`` (int64 epoch ms, any order) and
        ``values[i]`` (finite float64). ``metrics[i]`` picks the detector the first time a series
        is seen (None: the default). Points of one series are processed in the order given."""
        if not (len(ids) == len(ts) == len(values)):
            raise ValueError("ids, ts and values must have the same length")
        n = len(ids)
        lengths = np.fromiter((len(v) for v in values), dtype=np.intp, count=n)
        offsets = np.zeros(n + 1, dtype=np.intp)
        np.cumsum(lengths, out=offsets[1:])
        total = int(offsets[-1])
        flat_v = np.concatenate(values).astype(np.float64, copy=False) if n else np.zeros(0)
        flat_t = np.concatenate(ts).astype(np.int64, copy=False) if n else np.zeros(0, np.int64)
        if len(flat_t) != total:
            raise ValueError("each series needs as many timestamps as values")
        if not np.isfinite(flat_v).all():
            raise ValueError("values must be finite (NaN and infinities are rejected at ingest)")
        out = (np.zeros(total), np.zeros(total), np.zeros(total), np.zeros(total, dtype=bool))

        where = self._where
        banks = np.empty(n, dtype=np.intp)
        slots = np.empty(n, dtype=np.intp)
        for i, series_id in enumerate(ids):
            b = where.get(series_id)
            if b is None:
                b = self._admit(series_id, metrics[i] if metrics is not None else "")
            banks[i] = b
            slots[i] = self._banks[b].slot(series_id)
        starts = offsets[:-1]
        if n and (banks == banks[0]).all():
            self._banks[int(banks[0])].run(slots, starts, lengths, flat_t, flat_v, out)
        else:
            for b in np.unique(banks):
                sel = banks == b
                self._banks[int(b)].run(slots[sel], starts[sel], lengths[sel], flat_t, flat_v, out)
        names = [self._banks[int(b)].detector.name for b in banks]
        return BatchResult(*out, offsets=offsets, detector=names)

    def snapshot(self, ids: Iterable[Hashable] | None = None) -> dict[Hashable, bytes]:
        """Each series' state as bytes (all series when ``ids`` is None); unknown ids are left out.
        Restored-but-not-yet-seen series return their restored snapshot unchanged."""
        wanted = list(self._where) + list(self._pending) if ids is None else ids
        snaps: dict[Hashable, bytes] = {}
        for series_id in wanted:
            b = self._where.get(series_id)
            blob = self._banks[b].snapshot(series_id) if b is not None else None
            if blob is None:
                blob = self._pending.get(series_id)
            if blob is not None:
                snaps[series_id] = blob
        return snaps

    def restore(self, snapshots: Mapping[Hashable, bytes]) -> None:
        """Resume series from snapshots. Each one is applied when its series is next seen; a
        snapshot that no longer fits (the config now picks another detector) is dropped with a
        warning and that series learns from scratch."""
        for series_id, blob in snapshots.items():
            b = self._where.pop(series_id, None)
            if b is not None:
                self._banks[b].forget(series_id)
            self._pending[series_id] = bytes(blob)

    def forget(self, ids: Iterable[Hashable]) -> None:
        """Drop the state of deleted series."""
        for series_id in ids:
            self._pending.pop(series_id, None)
            b = self._where.pop(series_id, None)
            if b is not None:
                self._banks[b].forget(series_id)

    def detector_name(self, series_id: Hashable) -> str | None:
        b = self._where.get(series_id)
        return None if b is None else self._banks[b].detector.name

    def _admit(self, series_id: Hashable, metric: str) -> int:
        b = self._bank_of_metric.get(metric)
        if b is None:
            b = self._bank_index(self.config.choose(metric))
            self._bank_of_metric[metric] = b
        self._where[series_id] = b
        blob = self._pending.pop(series_id, None)
        if blob is not None:
            try:
                self._banks[b].restore(series_id, blob)
            except SnapshotError as exc:
                log.warning("series %s starts afresh: %s", series_id, exc)
        return b

    def _bank_index(self, choice: Choice) -> int:
        b = self._bank_of_choice.get(choice)
        if b is not None:
            return b
        cls = self.classes.get(choice.detector)
        if cls is None:
            known = ", ".join(sorted(self.classes))
            raise SettingsError("anomaly.detector", choice.detector, f"one of {known}")
        detector = cls(sensitivity=choice.sensitivity, warmup=choice.warmup, **dict(choice.options))
        self._banks.append(DetectorBank(detector))
        self._bank_of_choice[choice] = len(self._banks) - 1
        return len(self._banks) - 1
