"""One point per series and timestamp in a batch (docs/protocol.md, "Duplicates").

A batch may name one series twice (the agent keys its columns by unit too, so a source that
changes a unit sends the series twice) or repeat a timestamp within a series (a plugin that
returns one sample twice). Both used to be stored as several points at one time and scored as
several samples. The batch is kept, not refused: refusing would dead-letter every other series
of it for one plugin's repeat. Within a batch the *last* point of a (series, timestamp) wins,
the rule InfluxDB applies to a point written twice; points keep the order in which they came,
and a series named twice takes the last unit it was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hostpulse.hub.api.wire import SeriesIn
from hostpulse.hub.storage.registry import labels_key


@dataclass(slots=True)
class Columns:
    """A batch's series, each once: ``items[i]`` is (metric, labels, unit) and owns
    ``ts[offsets[i]:offsets[i+1]]`` and the same positions of ``values``."""

    items: list[tuple[str, dict[str, str], str]]
    ts: np.ndarray
    values: np.ndarray
    offsets: list[int]


def keep_once(
    series: Sequence[SeriesIn], ts: np.ndarray, values: np.ndarray, offsets: list[int]
) -> Columns:
    """The batch with each series once and each of its timestamps once (the last one given)."""
    items = [(s.metric, s.labels, s.unit) for s in series]
    bounds = np.asarray(offsets, dtype=np.intp)
    lengths = bounds[1:] - bounds[:-1]  # np.diff's stub types this as timedelta64
    group_of: dict[tuple[str, str], int] = {}
    group = np.fromiter(
        (group_of.setdefault((s.metric, labels_key(s.labels)), len(group_of)) for s in series),
        dtype=np.intp,
        count=len(series),
    )
    if len(group_of) == len(series) and int(lengths.max()) == 1:
        return Columns(items, ts, values, offsets)  # a per-second batch: nothing can repeat
    sample_group = np.repeat(group, lengths)
    position = np.arange(ts.size)
    # By group, then timestamp, then latest position first: the first of each run is kept.
    order = np.lexsort((-position, ts, sample_group))
    g, t = sample_group[order], ts[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (g[1:] != g[:-1]) | (t[1:] != t[:-1])
    if len(group_of) == len(series) and first.all():
        return Columns(items, ts, values, offsets)
    kept = order[first]
    kept = kept[np.lexsort((kept, sample_group[kept]))]  # group by group, in arrival order
    counts = np.bincount(sample_group[kept], minlength=len(group_of))
    merged: list[tuple[str, dict[str, str], str]] = [("", {}, "")] * len(group_of)
    for i, (metric, labels, unit) in enumerate(items):
        previous = merged[int(group[i])]
        merged[int(group[i])] = (metric, previous[1] or labels, unit or previous[2])
    return Columns(
        merged, ts[kept], values[kept], [0, *np.cumsum(counts).tolist()]
    )
