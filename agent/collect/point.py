"""A checked sample: one that passed validation, in the hashable shape the batcher groups by.

Sources are user code, so nothing they return is trusted: a wrong type, a NaN, a bad metric name
or a non-string label is refused here with a reason, and the scheduler counts it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import NamedTuple

from hostpulse.agent.collect.source import Sample
from hostpulse.wire import MAX_LABEL_LENGTH, MAX_LABELS, MAX_METRIC, METRIC_RE


class CheckedSample(NamedTuple):
    metric: str
    labels: tuple[tuple[str, str], ...]
    unit: str
    ts: int
    value: float

    def as_json(self) -> dict[str, object]:
        """The JSON-lines shape printed by ``hostpulse agent --once``."""
        return {
            "metric": self.metric,
            "labels": dict(self.labels),
            "ts": self.ts,
            "value": self.value,
            "unit": self.unit,
        }


class Invalid(ValueError):
    """A sample that cannot be sent; the message says why."""


def _real(value: object) -> bool:
    # float and int first: the ABC check behind numbers.Real costs more than the rest of check_sample.
    kind = type(value)
    if kind is float or kind is int:
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_sample(sample: object, tick_ms: int) -> CheckedSample:
    """Validate one sample from a source; raise ``Invalid`` with the reason when it cannot be sent."""
    if not isinstance(sample, Sample):
        raise Invalid(f"expected a Sample, got {type(sample).__name__}")
    metric = sample.metric
    if not isinstance(metric, str) or len(metric) > MAX_METRIC or not METRIC_RE.match(metric):
        raise Invalid(f"metric {metric!r} is not a dotted lowercase name")
    value = sample.value
    if not _real(value):
        raise Invalid(f"{metric}: value {value!r} is a {type(value).__name__}, not a number")
    value = float(value)
    if not math.isfinite(value):
        raise Invalid(f"{metric}: value {value!r} is not finite")
    labels = sample.labels
    if type(labels) is not dict and not isinstance(labels, Mapping):
        raise Invalid(f"{metric}: labels must be a mapping, got {type(labels).__name__}")
    if len(labels) > MAX_LABELS:
        raise Invalid(f"{metric}: {len(labels)} labels, at most {MAX_LABELS}")
    for key, label in labels.items():
        if not (isinstance(key, str) and isinstance(label, str)):
            raise Invalid(f"{metric}: label {key!r}={label!r} must map a string to a string")
        if len(key) > MAX_LABEL_LENGTH or len(label) > MAX_LABEL_LENGTH:
            raise Invalid(f"{metric}: label {key!r} is longer than {MAX_LABEL_LENGTH} characters")
    unit = sample.unit if sample.unit is not None else ""
    if not isinstance(unit, str):
        raise Invalid(f"{metric}: unit {unit!r} must be a string")
    ts = sample.ts
    if ts is None:
        ts = tick_ms
    elif not _real(ts) or not math.isfinite(ts):
        raise Invalid(f"{metric}: ts {ts!r} must be epoch milliseconds")
    return CheckedSample(metric, tuple(sorted(labels.items())), unit, int(ts), value)
