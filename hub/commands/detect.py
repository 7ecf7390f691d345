"""``hostpulse detect``: score a CSV series from stdin with the hub's own detection code.

Reads ``timestamp,value`` rows (a header line first) and prints one score in [0, 1] per row, as
soon as the row's chunk has arrived: rows are read straight from the file descriptor, so a row is
scored as soon as it can be read, never waiting for later rows (no look-ahead). The hub's code scores
them: its engine (:meth:`hostpulse.hub.anomaly.AnomalyEngine.detect`) or, for one series, its
scalar twin.

Timestamps are epoch milliseconds (a number) or ISO 8601 (no zone means UTC). A malformed row
stops the command with exit status 1 and ``error: line N: ...`` on stderr, after the scores of the
rows before it; blank lines are skipped.

With the built-in detectors (``robust``, ``none``) the rows go through
:class:`hostpulse.hub.anomaly.stream.SeriesStream`, the same arithmetic on plain floats (same scores
to 1e-9, tested): no numpy, so no numpy import at start. A detector from a plugin goes through
the engine, chunk by chunk.
"""

from __future__ import annotations

import math
import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import click

from hostpulse.hub.anomaly.stream import SeriesStream, open_stream
from hostpulse.hub.errors import SettingsError

SERIES_ID = "stdin"
_CHUNK_BYTES = 1 << 16


class RowError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")


def parse_timestamp(text: str) -> int:
    """Epoch ms from a number of milliseconds or an ISO 8601 date-time (naive means UTC)."""
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number) or abs(number) > 9.2e18:
            raise ValueError(f"timestamp {text!r} is out of range")
        return int(number)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"timestamp {text!r} is neither epoch milliseconds nor ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def parse_row(text: str, line: int) -> tuple[int, float]:
    """``(ts_ms, value)`` of one CSV row, or RowError naming the line."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise RowError(line, f"expected 2 fields 'timestamp,value', got {len(parts)}: {text!r}")
    try:
        ts = parse_timestamp(parts[0])
    except ValueError as exc:
        raise RowError(line, str(exc)) from None
    try:
        value = float(parts[1])
    except ValueError:
        raise RowError(line, f"value {parts[1]!r} is not a number") from None
    if not math.isfinite(value):
        raise RowError(line, f"value {parts[1]!r} is not finite")
    return ts, value


def read_chunks(stream: BinaryIO) -> Iterator[list[tuple[int, str]]]:
    """Lists of ``(line_number, text)``: every complete line that has arrived so far.

    ``os.read`` returns what is available without waiting to fill a buffer, which is what makes
    the command stream row by row through a pipe and still go fast on a file.
    """
    fd = stream.fileno()
    pending = b""
    number = 0
    while True:
        data = os.read(fd, _CHUNK_BYTES)
        if not data:
            break
        pending += data
        *complete, pending = pending.split(b"\n")
        if complete:
            batch = []
            for raw in complete:
                number += 1
                batch.append((number, raw.decode("utf-8", errors="replace").strip()))
            yield batch
    if pending.strip():
        yield [(number + 1, pending.decode("utf-8", errors="replace").strip())]


def _load_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        document = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--config") from None
    section = document.get("anomaly", {})
    return dict(section) if isinstance(section, dict) else {}


@click.command("detect")
@click.option("--metric", default="", help="Metric name, so the config picks its detector.")
@click.option("--detector", default=None, help="Detector to use (default: from the config).")
@click.option("--sensitivity", type=float, default=None, help="> 1 flags more, < 1 fewer.")
@click.option("--config", "config_file", default=None, help="Hub TOML file; its [anomaly] is used.")
@click.option("--flags", is_flag=True, help="Print 'score,flag,low,high' instead of the score.")
def detect_command(
    metric: str,
    detector: str | None,
    sensitivity: float | None,
    config_file: str | None,
    flags: bool,
) -> None:
    """Score CSV 'timestamp,value' rows from stdin: one anomaly score in [0, 1] per row."""
    config = _load_config(config_file)
    if detector is not None:
        config["detector"] = detector
        config["rules"] = []  # an explicit --detector applies to every metric
    if sensitivity is not None:
        config["sensitivity"] = sensitivity
        for rule in config.get("rules", []):
            rule["sensitivity"] = sensitivity
    try:
        stream = open_stream(config, metric)
        score = _scalar(stream, flags) if stream is not None else _engine(config, metric, flags)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    out = sys.stdout
    first = True
    for chunk in read_chunks(sys.stdin.buffer):
        ts: list[int] = []
        values: list[float] = []
        error: RowError | None = None
        for line, text in chunk:
            if not text:
                continue
            if first:
                first = False
                try:
                    parse_row(text, line)
                except RowError:
                    continue  # the header line
            try:
                t, v = parse_row(text, line)
            except RowError as exc:
                error = exc
                break
            ts.append(t)
            values.append(v)
        if ts:
            score(ts, values, out)
            out.flush()
        if error is not None:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)


Scorer = Callable[[list[int], list[float], TextIO], None]


def _scalar(stream: SeriesStream, flags: bool) -> Scorer:
    push = stream.push

    def score(ts: list[int], values: list[float], out: TextIO) -> None:
        if flags:
            lines = []
            for t, v in zip(ts, values, strict=True):
                s, lo, hi, f = push(t, v)
                lines.append(f"{s:.6f},{int(f)},{lo:.6g},{hi:.6g}\n")
            out.write("".join(lines))
        else:
            out.write("".join([f"{push(t, v)[0]:.6f}\n" for t, v in zip(ts, values, strict=True)]))

    return score


def _engine(config: dict[str, Any], metric: str, flags: bool) -> Scorer:
    # A plugin's detector: numpy and the plugin manager are imported only here.
    import numpy as np

    from hostpulse.hub.anomaly.engine import AnomalyEngine

    engine = AnomalyEngine(config)

    def score(ts: list[int], values: list[float], out: TextIO) -> None:
        result = engine.detect(
            [SERIES_ID], [np.asarray(ts, dtype=np.int64)], [np.asarray(values)], [metric]
        )
        if flags:
            rows = zip(result.score, result.flag, result.low, result.high, strict=True)
            out.write("".join(f"{s:.6f},{int(f)},{lo:.6g},{hi:.6g}\n" for s, f, lo, hi in rows))
        else:
            out.write("".join(f"{s:.6f}\n" for s in result.score))

    return score
