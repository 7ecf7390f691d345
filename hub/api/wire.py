"""The ingest wire format, version 1 (docs/protocol.md), as quart-schema/pydantic models.

Strict: a value of the wrong JSON type is refused, never coerced (``"1"``, ``true`` or ``1.0`` for
an integer, a string for a timestamp). Every string is refused with 400 when it holds a NUL or is
longer than its column: PostgreSQL cannot store a NUL in text or jsonb and raised inside the group
commit, failing the other batches committed with it (issue 18); SQLite would have stored it, and
the protocol is the same on both.

The pydantic models are the reference and write /openapi.json; ingest decodes with ``parse_batch``,
msgspec structs checked by hand, which accept a subset of what the models accept and fall back to
the models for anything else, so a refusal is the models' own error, word for word."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from itertools import chain
from typing import Annotated, Any, cast

import msgspec
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from hostpulse.hub.storage.registry import labels_key
from hostpulse.wire import MAX_HOST, MAX_METRIC, METRIC_PATTERN

BATCH_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_TS = 2**53 - 1
#: The one version of the protocol this hub speaks; another is refused as ``unsupported_version``.
PROTOCOL_VERSION = 1
#: The longest ``series.labels_key`` column (hostpulse.hub.storage.models): labels as sorted JSON.
MAX_LABELS_KEY = 2048


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "holds a NUL character, which is not stored")
    return value


_NO_NUL = AfterValidator(_no_nul)


# Strings the database can hold: no NUL, no longer than their column.
HostName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_HOST), _NO_NUL]
#: A filter of the read API: empty means none; a NUL or a longer value cannot match anything.
HostFilter = Annotated[str, StringConstraints(max_length=MAX_HOST), _NO_NUL]
MetricFilter = Annotated[str, StringConstraints(max_length=MAX_METRIC), _NO_NUL]
AgentVersion = Annotated[str, StringConstraints(max_length=64), _NO_NUL]
Unit = Annotated[str, StringConstraints(max_length=32), _NO_NUL]
# Each label name and value at most max_label_length (a setting, checked at ingest), and the
# whole set within the labels_key column (checked below).
LabelText = Annotated[str, StringConstraints(max_length=MAX_LABELS_KEY), _NO_NUL]


class AgentInfo(BaseModel):
    model_config = ConfigDict(strict=True)

    version: AgentVersion = ""


class SeriesIn(BaseModel):
    """One series of a batch: parallel arrays of epoch-ms timestamps and finite values."""

    model_config = ConfigDict(allow_inf_nan=False, strict=True)

    metric: str = Field(max_length=MAX_METRIC, pattern=METRIC_PATTERN)
    labels: dict[LabelText, LabelText] = Field(default_factory=dict)
    unit: Unit = ""
    # Bounded by JavaScript's largest exact integer: the dashboard reads these as numbers.
    ts: list[Annotated[int, Field(ge=0, le=MAX_TS)]] = Field(min_length=1)
    values: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_length(self) -> SeriesIn:
        if len(self.ts) != len(self.values):
            raise ValueError(f"ts has {len(self.ts)} items but values has {len(self.values)}")
        if self.labels and len(labels_key(self.labels)) > MAX_LABELS_KEY:
            raise ValueError(f"labels take more than {MAX_LABELS_KEY} characters as sorted JSON")
        return self


class IngestBatch(BaseModel):
    """A batch of samples from one host. ``batch_id`` is stable across retries."""

    model_config = ConfigDict(strict=True)

    version: int
    batch_id: str = Field(pattern=BATCH_ID_PATTERN)
    host: HostName
    agent: AgentInfo = Field(default_factory=AgentInfo)
    series: list[SeriesIn] = Field(min_length=1)

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version != PROTOCOL_VERSION:
            # Its own error type: the ingest error handler answers it as unsupported_version.
            raise PydanticCustomError(
                "unsupported_version",
                "version {version} is not spoken by this hub, which speaks version {known}",
                {"version": version, "known": PROTOCOL_VERSION},
            )
        return version


class IngestResult(BaseModel):
    """The batch is committed (or was already: ``duplicate``, nothing stored twice)."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    accepted: int
    duplicate: bool


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        description="machine-readable, e.g. timestamp_out_of_range (docs/protocol.md)"
    )
    message: str = Field(description="for people: what was wrong and what is accepted")


class ErrorResponse(BaseModel):
    """The hub's one error shape. 400 invalid input, 401 no valid token, 403 the token is not
    this host's, 404 no such thing, 413 over a size limit, 415 not JSON, 429 over the rate limit
    and 503 queue full or storage unavailable (both with Retry-After)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


def unsupported_version(error: object) -> bool:
    """Whether a validation error is about the batch's ``version`` (docs/protocol.md's own code)."""
    errors = getattr(error, "errors", None)
    return callable(errors) and any(e["type"] == "unsupported_version" for e in errors())


# The hot path. pydantic's model_validate_json took 0.19 ms of a 1.2 ms request for 50 series x 1
# point (py-spy under bench/hub_requests.py, 2026-12-07); msgspec decodes the same body into these
# structs several times faster, and the checks the structs cannot say are done by hand below.
# Everything msgspec refuses (and every batch the hand checks refuse) goes through the models.
_TS = Annotated[int, msgspec.Meta(ge=0, le=MAX_TS)]
_LABEL = Annotated[str, msgspec.Meta(max_length=MAX_LABELS_KEY)]
BATCH_ID_RE = re.compile(BATCH_ID_PATTERN)
#: Metric names joined by newlines, which no name may hold: one match for the whole batch.
METRICS_RE = re.compile(f"{METRIC_PATTERN[1:-1]}(?:\n{METRIC_PATTERN[1:-1]})*")


class Agent(msgspec.Struct):
    version: Annotated[str, msgspec.Meta(max_length=64)] = ""


class Series(msgspec.Struct):
    """``SeriesIn`` as ingest reads it: the same fields and types."""

    metric: Annotated[str, msgspec.Meta(max_length=MAX_METRIC)]
    ts: Annotated[list[_TS], msgspec.Meta(min_length=1)]
    values: Annotated[list[float], msgspec.Meta(min_length=1)]
    labels: dict[_LABEL, _LABEL] = {}
    unit: Annotated[str, msgspec.Meta(max_length=32)] = ""


class Batch(msgspec.Struct):
    """``IngestBatch`` as ingest reads it."""

    version: int
    batch_id: str
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_HOST)]
    series: Annotated[list[Series], msgspec.Meta(min_length=1)]
    agent: Agent = msgspec.field(default_factory=Agent)


class _Head(msgspec.Struct):
    """``Batch`` with its series not yet decoded."""

    version: int
    batch_id: str
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_HOST)]
    series: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1)]
    agent: Agent = msgspec.field(default_factory=Agent)


class _Count(msgspec.Struct):
    """Any JSON object, for the number of its series."""

    series: list[msgspec.Raw] = []


_decode = msgspec.json.Decoder(Batch).decode
_decode_head = msgspec.json.Decoder(_Head).decode
_decode_count = msgspec.json.Decoder(_Count).decode
_decode_series = msgspec.json.Decoder(list[Series]).decode

#: Bodies longer than this are "big": ingest decodes them in a worker thread, and the decoding
#: comes in pieces (the outline, then the series a piece of :data:`PIECE_BYTES` at a time).
#: msgspec holds the GIL through one decode call, so a body decoded in one piece, even in the
#: thread, kept the event loop waiting for all of it: 20,000 series of one point (2 MB) 10-115
#: ms, 100,000 (10 MB) 60-430 ms. In pieces the loop's longest wait is 6-10 ms for 20,000 and
#: 40-55 ms for 100,000, and with ingest's limit on series both are refused after the outline,
#: the loop waiting 1-9 ms; the largest shape within the limits (5,000 series x 10 points, 1.4
#: MB) costs 18-36 ms in the thread and the loop 8-9 ms (bench/parse_cost.py, 3 runs on
#: 2026-12-07 at load 0.5-2.5; on the loop, 20,000 series took 46-80 ms to decode and check).
#: Pieces cost ~2x the CPU and the hop to the thread 24-89 us, so up to here bodies stay on the
#: loop in one piece, where decoding and checking one costs ~4-5 ms (2,000 series of one point,
#: 205 kB: 0.8-2 ms to decode and check, 1.3-1.8 ms for limits, columns and dedupe).
BIG_BODY_BYTES = 256 * 1024
PIECE_BYTES = 64 * 1024


class TooManySeries(Exception):
    """A big body holds more series than ``max_series``: refused before they are decoded."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _decoded(body: bytes | str, max_series: int | None) -> Batch:
    if len(body) <= BIG_BODY_BYTES:
        return _decode(body)
    try:
        head = _decode_head(body)
    except (msgspec.MsgspecError, RecursionError):
        if max_series is not None:
            _check_count(len(_decode_count(body).series), max_series)
        raise
    _check_count(len(head.series), max_series)
    series = [s for _, piece in _pieces(head.series) for s in _decode_series(piece)]
    return Batch(head.version, head.batch_id, head.host, series, head.agent)


def _pieces(raws: list[msgspec.Raw]) -> Iterator[tuple[int, bytes]]:
    """The series a piece of about :data:`PIECE_BYTES` at a time, each piece a JSON array with
    the index of its first series: each piece ends at the series that takes it past the size."""
    start = 0
    while start < len(raws):
        end, size = start, 0
        while end < len(raws) and size < PIECE_BYTES:
            size += len(raws[end])
            end += 1
        yield start, b"[" + b",".join(raws[start:end]) + b"]"
        start = end


def _check_count(count: int, max_series: int | None) -> None:
    if max_series is not None and count > max_series:
        raise TooManySeries(count)


def parse_batch(body: bytes | str, max_series: int | None = None) -> Batch:
    """The batch in ``body``, with exactly the answers of ``IngestBatch.model_validate_json``:
    raises its ``ValidationError`` for any body it refuses (tests/hub/test_ingest_api.py
    compares the two on generated bodies). With ``max_series``, a big body (over
    :data:`BIG_BODY_BYTES`) that is a JSON object holding more series than that raises
    TooManySeries instead, whatever else it holds, before any of them is decoded."""
    try:
        batch = _decoded(body, max_series)
    except (msgspec.MsgspecError, RecursionError):  # msgspec's nesting limit is a RecursionError
        batch = None
    if batch is not None and _plainly_valid(batch):
        return batch
    if len(body) > BIG_BODY_BYTES:
        _raise_in_pieces(body)  # returns only if the pieces found nothing: the model decides
    model = IngestBatch.model_validate_json(body)  # raises the error the client is answered
    return msgspec.convert(model.model_dump(), Batch)


_validate_series = TypeAdapter(list[SeriesIn]).validate_json


def _raise_in_pieces(body: bytes | str) -> None:
    """The model's errors for a big body, found a piece of :data:`PIECE_BYTES` at a time.

    pydantic holds the GIL through one validation, so the model over the whole of a refused big
    body kept the event loop waiting for all of it even from the worker thread: the loop's
    longest gap while 5,000 series x 10 points (1.4 MB) with a bad value at the end were refused
    was 19.5 ms that way, 12.3 ms in pieces (bench/parse_cost.py, medians of 5). The head is checked
    with the first series only, then the series in pieces, each piece's error locations moved
    to where its series are in the body; the errors come in the model's order (its fields, then
    the series by index). Returns without raising when the outline does not decode or nothing
    is found, and the model over the whole body answers."""
    try:
        head = _decode_head(body)
    except (msgspec.MsgspecError, RecursionError):
        return
    outline = msgspec.json.encode({
        "version": head.version, "batch_id": head.batch_id, "host": head.host,
        "agent": head.agent, "series": head.series[:1],
    })
    found: list[InitErrorDetails] = []
    try:
        IngestBatch.model_validate_json(outline)
    except ValidationError as exc:
        found += [_moved(e, None, 0) for e in exc.errors() if e["loc"][:1] != ("series",)]
    for start, piece in _pieces(head.series):
        if len(found) >= 5:  # the answer names the first five
            break
        try:
            _validate_series(piece)
        except ValidationError as exc:
            found += [_moved(e, "series", start) for e in exc.errors()]
    if found:
        raise ValidationError.from_exception_data(IngestBatch.__name__, found)


def _moved(error: object, field: str | None, offset: int) -> InitErrorDetails:
    """One of pydantic's errors again, under ``field`` with its first index moved by ``offset``;
    its message kept as written (a custom error without context is not formatted again)."""
    e = cast("dict[str, Any]", error)
    loc = tuple(e["loc"])
    if field is not None:
        loc = (field, loc[0] + offset, *loc[1:])
    return {"type": PydanticCustomError(e["type"], e["msg"]), "loc": loc, "input": e.get("input")}


def _plainly_valid(batch: Batch) -> bool:
    """What the models check and the structs do not: version, patterns matched whole
    (``fullmatch``: ``$`` alone passes a trailing newline, which pydantic's regex refuses), NULs,
    finite values, equal lengths and the labels' sorted-JSON length. Over the whole batch at
    once where it can be: a per-second batch is 50-100 series of one point each."""
    series = batch.series
    metrics = "\n".join([s.metric for s in series])
    if (
        batch.version != PROTOCOL_VERSION
        or not BATCH_ID_RE.fullmatch(batch.batch_id)
        or metrics.count("\n") != len(series) - 1  # a newline inside a metric name
        or not METRICS_RE.fullmatch(metrics)
        or [len(s.ts) for s in series] != [len(s.values) for s in series]
        or not all(map(math.isfinite, chain.from_iterable([s.values for s in series])))
    ):
        return False
    texts = [batch.host, batch.agent.version, *[s.unit for s in series]]
    for labels in [s.labels for s in series if s.labels]:
        text = "".join(chain.from_iterable(labels.items()))
        texts.append(text)
        # Sorted JSON spends at most 6 characters on one (\uXXXX) and 6 on a pair's quotes,
        # colon and comma: only a set that might not fit the column is encoded to be sure.
        if (
            6 * (len(text) + len(labels)) + 2 > MAX_LABELS_KEY
            and len(labels_key(labels)) > MAX_LABELS_KEY
        ):
            return False
    return "\x00" not in "".join(texts)
