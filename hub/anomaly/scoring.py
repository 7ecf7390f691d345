"""Anomaly scoring of each group commit: the writer's ``score`` hook.

Scoring a whole group at once, not each request on its own, lets the detector's numpy steps run
over every series of every pending batch together: per-sample cost falls with the width of the
step (docs/anomaly.md), and duplicates, already weeded out by the writer, are never scored twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from hostpulse.hub.anomaly import AnomalyEngine, BatchResult
from hostpulse.hub.anomaly.pieces import detect_in_pieces
from hostpulse.hub.storage.registry import SeriesInfo
from hostpulse.hub.storage.writer import PendingBatch, Scorer, SeriesBlock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scored:
    """A batch's share of a group's scores: its blocks are ``first``, ``first + 1``, … there."""

    result: BatchResult
    first: int

    def points(self, blocks: list[SeriesBlock]) -> list[list[list[Any]]]:
        """Per block, its stream points ``[ts, value, score, low, high, anomaly]``.

        A batch's blocks are consecutive in the group's arrays, so each column is converted to
        Python once for the whole batch rather than per series: a per-second batch has one
        point per series, where numpy's per-call cost would dominate."""
        r = self.result
        a, b = int(r.offsets[self.first]), int(r.offsets[self.first + len(blocks)])
        rows = [
            list(row)
            for row in zip(
                _column(blocks, "ts"),
                _column(blocks, "values"),
                np.round(r.score[a:b], 3).tolist(),
                r.low[a:b].tolist(),
                r.high[a:b].tolist(),
                r.flag[a:b].tolist(),
                strict=True,
            )
        ]
        return _split(rows, blocks)


def _column(blocks: list[SeriesBlock], name: str) -> list[Any]:
    """The blocks' ``ts`` or ``values`` end to end, as Python ints or floats."""
    column: list[Any] = np.concatenate([getattr(block, name) for block in blocks]).tolist()
    return column


def _split(rows: list[Any], blocks: list[SeriesBlock]) -> list[list[Any]]:
    out, start = [], 0
    for block in blocks:
        end = start + len(block.ts)
        out.append(rows[start:end])
        start = end
    return out


def group_scorer(engine: AnomalyEngine) -> Scorer:
    async def score(batches: list[PendingBatch]) -> None:
        blocks = [block for batch in batches for block in batch.blocks]
        owners = [batch for batch in batches for _ in batch.blocks]
        try:
            # In pieces: a group's detection grows with its batches and must not hold the loop.
            result = await detect_in_pieces(
                engine,
                [b.series_id for b in blocks],
                [b.ts for b in blocks],
                [b.values for b in blocks],
                [b.metric for b in blocks],
            )
        except Exception:  # detection must never cost a sample: store unscored and say so
            log.exception("anomaly detection failed on a group of %d batches", len(batches))
            return
        first = 0
        for batch in batches:
            batch.scored = Scored(result, first)
            first += len(batch.blocks)
        where = np.flatnonzero(result.flag)
        series_index = np.searchsorted(result.offsets, where, side="right") - 1
        for s, p in zip(series_index.tolist(), where.tolist(), strict=True):
            block, local = blocks[s], p - int(result.offsets[s])
            owners[s].anomalies.append(
                (
                    block.series_id,
                    int(block.ts[local]),
                    float(block.values[local]),
                    float(result.score[p]),
                    float(result.low[p]),
                    float(result.high[p]),
                    result.detector[s],
                )
            )

    return score


def points_frame(
    host: str, received: int, infos: list[SeriesInfo], batch: PendingBatch
) -> dict[str, Any]:
    """Scored points are ``[ts, value, score, low, high, anomaly]``, so the dashboard paints the band
    and the flagged points from the frame itself; unscored ones are ``[ts, value]``."""
    scored: Scored | None = batch.scored
    if scored is not None:
        points = scored.points(batch.blocks)
    else:
        pairs = [list(p) for p in zip(_column(batch.blocks, "ts"), _column(batch.blocks, "values"))]
        points = _split(pairs, batch.blocks)
    series = [
        {**info.as_json(), "points": block_points}
        for info, block_points in zip(infos, points, strict=True)
    ]
    return {"type": "points", "host": host, "received_at": received, "series": series}


def anomaly_frames(
    host: str, received: int, infos: list[SeriesInfo], batch: PendingBatch
) -> list[dict[str, Any]]:
    by_id = {info.id: info for info in infos}
    frames = []
    for series_id, ts, value, score, low, high, detector in batch.anomalies:
        info = by_id[series_id]
        frames.append(
            {
                "type": "anomaly",
                "host": host,
                "received_at": received,
                "series_id": series_id,
                "metric": info.metric,
                "labels": info.labels,
                "unit": info.unit,
                "ts": ts,
                "value": value,
                "score": score,
                "low": low,
                "high": high,
                "detector": detector,
            }
        )
    return frames
