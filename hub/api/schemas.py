"""What the HTTP API answers, as pydantic models: they write the responses of /openapi.json.

The read routes are *documented* with these models, not validated at run time: a points answer
may hold 100,000 points, and running each through pydantic would cost more than reading them.
tests/hostile/test_openapi.py and tests/hub/test_read_api.py check that every answer matches.
Models forbid extra keys, so a field added to a route without its model fails those tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from quart_schema import document_response

from hostpulse.hub.api.wire import ErrorResponse

T = TypeVar("T", bound=Callable[..., object])

EpochMs = Annotated[int, Field(description="epoch milliseconds")]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class HostOut(_Answer):
    name: str
    labels: dict[str, str]
    agent_version: str
    first_seen: EpochMs | None
    last_seen: EpochMs | None = Field(description="when its last batch arrived, by the hub's clock")
    online: bool
    clock_offset_s: float | None = Field(
        description="the agent's clock minus the hub's, in seconds (±1 s), from the Date header of "
        "its ingest requests; null until an agent that sends one has been heard"
    )
    clock_checked_at: EpochMs | None = Field(description="when clock_offset_s was measured")


class HostList(_Answer):
    """Every host the hub knows."""

    hosts: list[HostOut]
    clock_warn_s: float = Field(
        description="the dashboard warns about a host whose |clock_offset_s| is above this"
    )
    online_window_s: float = Field(
        description="a host whose last batch arrived within this many seconds is online"
    )
    stale_window_s: float = Field(
        description="a host silent longer than online_window_s is stale up to this, then offline"
    )


class SeriesOut(_Answer):
    id: int
    host: str
    metric: str
    labels: dict[str, str]
    unit: str


class SeriesList(_Answer):
    """Series, in host, metric and labels order."""

    series: list[SeriesOut]


PointRow = Annotated[
    list[float],
    Field(min_length=2, max_length=4, description="[ts, value] or [ts, mean, min, max]"),
]


class Points(_Answer):
    """A series' points between ``from`` and ``to``, read from one storage tier."""

    series: SeriesOut
    start: EpochMs = Field(alias="from")
    end: EpochMs = Field(alias="to")
    tier: Literal["raw", "1m", "1h"]
    points: list[PointRow]


class AnomalyOut(_Answer):
    series_id: int
    host: str
    metric: str
    labels: dict[str, str]
    unit: str
    ts: EpochMs
    value: float
    score: float = Field(ge=0, le=1)
    low: float = Field(description="the band the detector expected at that moment")
    high: float
    detector: str


class AnomalyList(_Answer):
    """Flagged points, newest first."""

    anomalies: list[AnomalyOut]


class Health(_Answer):
    """The hub reaches its database."""

    status: Literal["ok"]
    write_queue: int = Field(ge=0, description="batches waiting for the writer")


class RetryAfter(BaseModel):
    """The headers of a 429 or 503: when to send again (the agent waits that long)."""

    retry_after: int = Field(
        alias="Retry-After", ge=0, description="seconds to wait before sending this request again"
    )


#: The refusals that always say when to come back.
RETRYABLE = frozenset({429, 503})


def errors(*statuses: int) -> Callable[[T], T]:
    """Document the statuses a route may refuse with, each in the one error shape (429 and 503
    with their Retry-After header)."""

    def decorate(func: T) -> T:
        for status in statuses:
            headers = RetryAfter if status in RETRYABLE else None
            func = document_response(ErrorResponse, status, headers)(func)
        return func

    return decorate


def answers(model: type[BaseModel], *statuses: int) -> Callable[[T], T]:
    """Document a route's 200 body (without validating it) and the statuses it may refuse with."""

    def decorate(func: T) -> T:
        return errors(*statuses)(document_response(model, 200)(func))

    return decorate
