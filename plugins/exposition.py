"""The Prometheus text exposition format: a parser, and its translation into HostPulse samples.

Used by the ``prometheus`` source (an exporter's ``/metrics``) and by ``exec`` with
``format = "prometheus"``. The parser follows the text format 0.0.4 (and reads the OpenMetrics
subset exporters send by default): ``# TYPE`` lines, label values with ``\\\\``, ``\\"`` and ``\\n``
escapes, ``NaN``/``+Inf`` values, optional timestamps. A line it cannot read is skipped and
counted, never fatal: one odd line from an exporter should not blank out the others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from hostpulse import Sample
from hostpulse.plugins.rates import Rates

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*\"")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
#: Suffixes that belong to a histogram's or summary's family name.
_FAMILY_SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_total", "_info")
#: Name suffix -> unit, following the Prometheus naming conventions.
_UNITS = (("_seconds", "s"), ("_bytes", "B"), ("_celsius", "°C"), ("_percent", "%"),
          ("_ratio", ""), ("_volts", "V"), ("_watts", "W"), ("_joules", "J"), ("_hertz", "Hz"))


@dataclass(slots=True)
class ExpositionLine:
    """One parsed line: ``name{labels} value``, with the TYPE of its family."""

    name: str
    labels: dict[str, str]
    value: float
    type: str = "untyped"


@dataclass(slots=True)
class Exposition:
    points: list[ExpositionLine] = field(default_factory=list)
    #: Lines that could not be read.
    skipped: int = 0


def parse(text: str) -> Exposition:
    """Parse an exposition; unreadable lines are counted in ``skipped``."""
    result = Exposition()
    types: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3].strip().lower()
            elif len(parts) >= 2 and parts[1] == "EOF":
                break
            continue
        try:
            point = _parse_line(line)
        except ValueError:
            result.skipped += 1
            continue
        point.type = _family_type(point.name, types)
        result.points.append(point)
    return result


def _parse_line(line: str) -> ExpositionLine:
    match = _NAME.match(line)
    if match is None:
        raise ValueError(line)
    name, pos = match.group(), match.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        pos = _parse_labels(line, pos + 1, labels)
    # An OpenMetrics exemplar (`` # {trace_id="…"} 1``) may follow the value.
    fields = line[pos:].split(" # ", 1)[0].split()
    if not fields or len(fields) > 2 or (pos < len(line) and not line[pos].isspace()):
        raise ValueError(line)
    return ExpositionLine(name, labels, float(fields[0]))  # float() reads NaN, +Inf, -Inf, 1e3


def _parse_labels(line: str, pos: int, labels: dict[str, str]) -> int:
    """Read ``a="x",b="y"}`` from ``pos``; return the position after the closing brace."""
    while True:
        while pos < len(line) and line[pos] in " \t,":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return pos + 1
        match = _LABEL_NAME.match(line, pos)
        if match is None:
            raise ValueError(line)
        pos = match.end()
        chars: list[str] = []
        while True:
            if pos >= len(line):
                raise ValueError(line)
            char = line[pos]
            if char == "\\" and pos + 1 < len(line):
                chars.append(_ESCAPES.get(line[pos + 1], "\\" + line[pos + 1]))
                pos += 2
            elif char == '"':
                pos += 1
                break
            else:
                chars.append(char)
                pos += 1
        labels[match.group(1)] = "".join(chars)


def _family_type(name: str, types: dict[str, str]) -> str:
    if name in types:
        return types[name]
    for suffix in _FAMILY_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in types:
            return types[name[: -len(suffix)]]
    return "untyped"


def metric_name(prefix: str, name: str) -> str:
    """``prefix.name`` in HostPulse's dotted lowercase form (``:`` and other marks become ``_``)."""
    clean = re.sub(r"[^a-z0-9_.]+", "_", name.lower()).strip("._")
    clean = re.sub(r"\.{2,}", ".", clean)
    if clean and clean[0].isdigit() and not prefix:
        clean = "_" + clean
    return f"{prefix}.{clean}" if prefix else clean


def unit_of(name: str) -> str:
    """The unit a conventional Prometheus name implies (``_seconds`` → ``s``), or ``""``."""
    base = name.removesuffix("_total")
    for suffix, unit in _UNITS:
        if base.endswith(suffix):
            return unit
    return ""


def to_samples(points: list[ExpositionLine], prefix: str, rates: Rates, source: object = "",
               max_series: int = 10_000, extra_labels: dict[str, str] | None = None) -> Iterator[Sample]:
    """Turn parsed points into samples: gauges as they are, counters as per-second rates.

    Counters (TYPE counter, and a histogram's or summary's ``_count`` and ``_sum``) are emitted as
    ``NAME_per_s`` (``_total`` dropped) from the second reading on. Histogram buckets and
    ``_created`` timestamps are left out: dozens of series per histogram that a line chart cannot
    show. Non-finite values are dropped (the hub rejects them). At most ``max_series`` samples.
    ``source`` keeps rate state apart when one ``Rates`` serves several targets.
    """
    emitted = 0
    for point in points:
        if emitted >= max_series:
            return
        if not math.isfinite(point.value) or point.name.endswith("_created"):
            continue
        labels = dict(point.labels)
        if extra_labels:
            for label, value in extra_labels.items():
                labels.setdefault(label, value)
        counter = point.type == "counter" or (
            point.type in ("histogram", "summary", "gaugehistogram")
            and point.name.endswith(("_count", "_sum"))
        )
        if point.type in ("histogram", "gaugehistogram") and point.name.endswith("_bucket"):
            continue
        if counter:
            rate = rates.rate((source, point.name, tuple(sorted(labels.items()))), point.value)
            if rate is None:
                continue
            unit = unit_of(point.name)
            name = metric_name(prefix, point.name.removesuffix("_total") + "_per_s")
            yield Sample(name, rate, labels, f"{unit}/s" if unit else "/s")
        else:
            yield Sample(metric_name(prefix, point.name), point.value, labels, unit_of(point.name))
        emitted += 1
