"""Helpers for the built-in plugin tests: recorded data, psutil-shaped tuples, one collection."""

from __future__ import annotations

import inspect
import json
from collections import namedtuple
from pathlib import Path
from typing import Any, cast

from hostpulse import Sample, Source

DATA = Path(__file__).parent / "data"

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def load(name: str) -> Any:
    """Return the recorded JSON file ``tests/plugins/data/NAME``."""
    return json.loads((DATA / name).read_text())


def as_tuple(typename: str, fields: dict[str, Any]) -> Any:
    """A namedtuple shaped like psutil's (psutil's own classes are private to each platform)."""
    return namedtuple(typename, list(fields))(**fields)


async def collect(source: Source) -> list[Sample]:
    """Run one collection whatever the flavour of ``collect`` (sync, generator, async)."""
    result: Any = source.collect()
    if inspect.isawaitable(result):
        result = await result
    if inspect.isasyncgen(result):
        return [cast(Sample, sample) async for sample in result]
    return list(result)


def by_key(samples: list[Sample]) -> dict[SeriesKey, float]:
    """Index values by (metric, sorted labels), failing on a series emitted twice in one round."""
    index: dict[SeriesKey, float] = {}
    for sample in samples:
        key = (sample.metric, tuple(sorted(sample.labels.items())))
        assert key not in index, f"series emitted twice in one round: {key}"
        index[key] = sample.value
    return index


def key(metric: str, **labels: str) -> SeriesKey:
    return (metric, tuple(sorted(labels.items())))


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
