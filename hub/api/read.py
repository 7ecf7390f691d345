"""The read API: hosts, series, a series' points."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field
from quart import Blueprint
from quart_schema import validate_querystring

from hostpulse.hub.api.schemas import AnomalyList, HostList, Points, SeriesList, answers
from hostpulse.hub.api.wire import MAX_TS, HostFilter, MetricFilter
from hostpulse.hub.auth.viewers import require_viewer
from hostpulse.hub.errors import BadRequest, NotFound
from hostpulse.hub.state import hub_state
from hostpulse.hub.storage.history import read_history
from hostpulse.hub.storage.models import Anomaly, Host, Series
from hostpulse.wire import now_ms

blueprint = Blueprint("read", __name__, url_prefix="/api/v1")
blueprint.before_request(require_viewer)


@blueprint.get("/hosts")
@answers(HostList, 401, 503)
async def list_hosts() -> dict[str, object]:
    """Every host the hub knows, with whether it reported recently and how far its clock is off.

    ``clock_offset_s`` is this hub's latest reading or the one stored by any hub, the newer."""
    state = hub_state()
    window = int(state.settings.online_window_s * 1000)
    now = now_ms()
    hosts = []
    for h in await Host.all().order_by("name"):
        clock = state.clocks.latest(h)
        hosts.append({
            "name": h.name,
            "labels": h.labels,
            "agent_version": h.agent_version,
            "first_seen": h.first_seen or None,
            "last_seen": h.last_seen or None,
            "online": bool(h.last_seen) and now - h.last_seen <= window,
            "clock_offset_s": None if clock is None else round(clock[0] / 1000, 1),
            "clock_checked_at": None if clock is None else clock[1],
        })
    settings = state.settings
    return {
        "hosts": hosts,
        "clock_warn_s": settings.clock_warn_s,
        "online_window_s": settings.online_window_s,
        "stale_window_s": settings.stale_window_s,
    }


@dataclass
class SeriesQuery:
    # Bounded like the columns: a longer value was a 500 (Tortoise refused it) before issue 18.
    host: HostFilter | None = None
    metric: MetricFilter | None = None


@blueprint.get("/series")
@validate_querystring(SeriesQuery)
@answers(SeriesList, 400, 401, 503)
async def list_series(query_args: SeriesQuery) -> dict[str, object]:
    """Series, optionally narrowed to one host and one metric."""
    rows = Series.all().select_related("host").order_by("host__name", "metric", "labels_key")
    if query_args.host:
        rows = rows.filter(host__name=query_args.host)
    if query_args.metric:
        rows = rows.filter(metric=query_args.metric)
    return {"series": [_series_json(s) for s in await rows]}


def _whole_number(value: object) -> object:
    # pydantic reads "5.0" as 5; a query parameter declared integer takes digits only.
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
        raise ValueError("expected an integer")
    return value


QueryInt = Annotated[int, BeforeValidator(_whole_number)]
#: Bounds of ``from``/``to``, those of the wire's timestamps: past int64 the database would fail.
Ms = Annotated[QueryInt, Field(ge=-MAX_TS, le=MAX_TS)]


class PointsQuery(BaseModel):
    # ``from`` is a Python keyword, so the fields are named start/end and read by alias.
    start: Ms | None = Field(
        None, alias="from", description="epoch ms; default: `to` minus one hour"
    )
    end: Ms | None = Field(None, alias="to", description="epoch ms; default: now")
    max_points: QueryInt = Field(1000, ge=1, le=100_000)


# Ids are 32-bit (SERIAL): a larger one matches no route (404) instead of overflowing the query.
@blueprint.get("/series/<int(max=2147483647):series_id>/points")
@validate_querystring(PointsQuery)
@answers(Points, 400, 401, 404, 503)
async def series_points(series_id: int, query_args: PointsQuery) -> dict[str, object]:
    """A series' points between ``from`` and ``to``, at most ``max_points`` of them:
    ``[ts, value]``, or ``[ts, mean, min, max]`` buckets when the range holds more. ``tier``
    names the storage tier read: ``raw``, ``1m`` or ``1h`` (see hostpulse.hub.storage.history)."""
    end = now_ms() if query_args.end is None else query_args.end
    start = end - 3_600_000 if query_args.start is None else query_args.start
    if start > end:
        raise BadRequest("from must not be after to", code="bad_range")
    series = await Series.get_or_none(id=series_id).select_related("host")
    if series is None:
        raise NotFound(f"no series with id {series_id}")
    tier, points = await read_history(
        series_id, start, end, query_args.max_points, hub_state().settings, now_ms()
    )
    return {
        "series": _series_json(series),
        "from": start,
        "to": end,
        "tier": tier.name,
        "points": points,
    }


def _series_json(s: Series) -> dict[str, object]:
    return {"id": s.id, "host": s.host.name, "metric": s.metric, "labels": s.labels, "unit": s.unit}


class AnomaliesQuery(BaseModel):
    host: HostFilter | None = None
    start: Ms | None = Field(
        None, alias="from", description="epoch ms; default: `to` minus 24 hours"
    )
    end: Ms | None = Field(None, alias="to", description="epoch ms; default: now")
    limit: QueryInt = Field(1000, ge=1, le=10_000)


@blueprint.get("/anomalies")
@validate_querystring(AnomaliesQuery)
@answers(AnomalyList, 400, 401, 503)
async def list_anomalies(query_args: AnomaliesQuery) -> dict[str, object]:
    """Flagged points between ``from`` and ``to``, newest first, with the band the detector expected."""
    end = now_ms() if query_args.end is None else query_args.end
    start = end - 86_400_000 if query_args.start is None else query_args.start
    rows = (
        Anomaly.filter(ts__gte=start, ts__lte=end)
        .select_related("series__host")
        .order_by("-ts", "-id")
        .limit(query_args.limit)
    )
    if query_args.host:
        rows = rows.filter(series__host__name=query_args.host)
    return {
        "anomalies": [
            {
                "series_id": a.series.id,
                "host": a.series.host.name,
                "metric": a.series.metric,
                "labels": a.series.labels,
                "unit": a.series.unit,
                "ts": a.ts,
                "value": a.value,
                "score": a.score,
                "low": a.expected_low,
                "high": a.expected_high,
                "detector": a.detector,
            }
            for a in await rows
        ]
    }
