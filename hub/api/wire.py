"""The ingest wire format, version 1 (docs/protocol.md), as quart-schema/pydantic models.

Strict: a value of the wrong JSON type is refused, never coerced (``"1"``, ``true`` or ``1.0`` for
an integer, a string for a timestamp). Every string is refused with 400 when it holds a NUL or is
longer than its column: PostgreSQL cannot store a NUL in text or jsonb and raised inside the group
commit, failing the other batches committed with it (issue 18); SQLite would have stored it, and
the protocol is the same on both."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

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
