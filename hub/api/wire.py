"""The ingest wire format, version 1 (docs/protocol.md), as quart-schema/pydantic models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

METRIC_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"
BATCH_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
MAX_TS = 2**53 - 1


class AgentInfo(BaseModel):
    version: str = Field("", max_length=64)


class SeriesIn(BaseModel):
    """One series of a batch: parallel arrays of epoch-ms timestamps and finite values."""

    model_config = ConfigDict(allow_inf_nan=False)

    metric: str = Field(max_length=200, pattern=METRIC_PATTERN)
    labels: dict[str, str] = Field(default_factory=dict)
    unit: str = Field("", max_length=32)
    # Bounded by JavaScript's largest exact integer: the dashboard reads these as numbers.
    ts: list[Annotated[int, Field(ge=0, le=MAX_TS)]] = Field(min_length=1)
    values: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _same_length(self) -> SeriesIn:
        if len(self.ts) != len(self.values):
            raise ValueError(f"ts has {len(self.ts)} items but values has {len(self.values)}")
        return self


class IngestBatch(BaseModel):
    """A batch of samples from one host. ``batch_id`` is stable across retries."""

    version: Literal[1]
    batch_id: str = Field(pattern=BATCH_ID_PATTERN)
    host: str = Field(min_length=1, max_length=255)
    agent: AgentInfo = Field(default_factory=AgentInfo)
    series: list[SeriesIn] = Field(min_length=1)


class IngestResult(BaseModel):
    """The batch is committed (or was already: ``duplicate``, nothing stored twice)."""

    model_config = ConfigDict(extra="forbid")

    batch_id: str
    accepted: int
    duplicate: bool


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="machine-readable, e.g. timestamp_out_of_range (docs/protocol.md)")
    message: str = Field(description="for people: what was wrong and what is accepted")


class ErrorResponse(BaseModel):
    """The hub's one error shape. 400 invalid input, 401 no valid token, 403 the token is not
    this host's, 404 no such thing, 413 over a size limit, 415 not JSON, 429 over the rate limit
    and 503 queue full or storage unavailable (both with Retry-After)."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail
