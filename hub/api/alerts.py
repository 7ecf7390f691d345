"""The alerts API: what fires, the rules, each series' levels (the dashboard's warning/critical
lines), the history, delivery status, silences and acknowledgements. Viewer-authenticated like the
read API; POST and DELETE pass the app's Origin check
(hostpulse.hub.auth.viewers.install_request_guards), so a page of another site cannot make or lift
a silence (or an ack) with a logged-in viewer's cookie. Making or ending either publishes an
``alerts`` frame with ``changed``, so every open alerts page reads them again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from quart import Blueprint, current_app, request
from quart_schema import (
    RequestSchemaValidationError,
    document_request,
    document_response,
    validate_querystring,
)

from hostpulse.hub.alerts import acks, silences, store
from hostpulse.hub.alerts.config import Rule
from hostpulse.hub.alerts.evaluator import SeriesRef
from hostpulse.hub.alerts.models import AlertAck, AlertSilence, AlertState, AlertTransition
from hostpulse.hub.alerts.service import AlertService
from hostpulse.hub.api.schemas import EpochMs, answers, errors
from hostpulse.hub.api.wire import HostFilter, MetricFilter
from hostpulse.hub.auth.viewers import require_viewer
from hostpulse.hub.errors import BadRequest, NotFound
from hostpulse.hub.storage.models import Series
from hostpulse.wire import now_ms

blueprint = Blueprint("alerts", __name__, url_prefix="/api/v1/alerts")
blueprint.before_request(require_viewer)

Name = Annotated[str, StringConstraints(max_length=200)]
Severity = Literal["warning", "critical"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlertOut(_Answer):
    rule: str
    kind: str
    state: Literal["pending", "firing"]
    severity: Severity
    host: str
    metric: str
    labels: dict[str, str]
    value: float | None
    since: EpochMs = Field(description="when the condition started to hold")
    starts_at: EpochMs | None = Field(description="when it fired; null while pending")
    silenced_by: int | None = Field(description="the id of the silence that mutes it, if any")
    series_id: int | None = Field(description="the series; null for an alert of a whole host")
    acked_by: int | None = Field(description="the id of the ack of this firing episode, if any")


class AlertList(_Answer):
    alerts: list[AlertOut]


class RuleOut(_Answer):
    name: str
    kind: str
    metric: str
    labels: dict[str, str]
    host: str
    host_labels: dict[str, str]
    over: str
    window_s: float
    warning: float | None
    critical: float | None
    clear: float | None
    for_s: float
    notify: list[str]


class RuleList(_Answer):
    rules: list[RuleOut]


class LevelOut(_Answer):
    series_id: int
    host: str
    metric: str
    labels: dict[str, str]
    rule: str = Field(description="the first threshold rule, in the hub's order, selecting it")
    warning: float | None
    critical: float | None


class LevelList(_Answer):
    levels: list[LevelOut]


class TransitionOut(_Answer):
    rule: str
    kind: str
    host: str
    metric: str
    labels: dict[str, str]
    series_id: int | None = Field(description="the series; null for an alert of a whole host")
    previous: str
    state: str
    severity: str
    value: float | None
    at: EpochMs
    starts_at: EpochMs | None
    ends_at: EpochMs | None


class HistoryList(_Answer):
    history: list[TransitionOut]


class FailingOut(_Answer):
    id: int
    notifier: str
    rule: str
    host: str
    attempts: int
    last_error: str
    next_at: EpochMs


class DeliveryOut(_Answer):
    pending: int
    sent: int
    silenced: int
    failing: int = Field(description="pending messages that failed at least once")
    failed_attempts_total: int = Field(description="failed sends by this hub since it started")
    failures: list[FailingOut]


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: Name = ""
    host: Annotated[str, StringConstraints(max_length=255)] = ""
    labels: dict[Annotated[str, StringConstraints(max_length=200)], Name] = {}
    ends_at: int | None = Field(None, ge=0, le=2**62, description="epoch ms")
    duration_s: float | None = Field(None, gt=0, le=366 * 86400)
    comment: Annotated[str, StringConstraints(max_length=1000)] = ""


class SilenceOut(_Answer):
    id: int
    rule: str
    host: str
    labels: dict[str, str]
    comment: str
    created_at: EpochMs
    ends_at: EpochMs


class SilenceList(_Answer):
    silences: list[SilenceOut]


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: Name
    host: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    series_id: int | None = Field(None, ge=0, le=2**31 - 1, description="null: a host's alert")
    ends_at: int | None = Field(None, ge=0, le=2**62, description="epoch ms; null: until resolved")
    duration_s: float | None = Field(None, gt=0, le=366 * 86400)
    comment: Annotated[str, StringConstraints(max_length=1000)] = ""


class AckOut(_Answer):
    id: int
    rule: str
    host: str
    series_id: int | None
    starts_at: EpochMs = Field(description="the firing episode it acknowledges")
    comment: str
    created_at: EpochMs
    ends_at: EpochMs | None = Field(description="null: until the alert resolves")


class AckList(_Answer):
    acks: list[AckOut]


@dataclass
class AlertsQuery:
    host: HostFilter | None = None
    severity: Severity | None = None
    state: Literal["pending", "firing"] | None = None


@dataclass
class LevelsQuery:
    host: HostFilter | None = None
    metric: MetricFilter | None = None


@dataclass
class HistoryQuery:
    host: HostFilter | None = None
    rule: Name | None = None
    limit: int = 200


def _rule_json(r: Rule) -> dict[str, Any]:
    return {
        "name": r.name, "kind": r.kind, "metric": r.metric, "labels": dict(r.labels),
        "host": r.host, "host_labels": dict(r.host_labels), "over": r.over, "window_s": r.window_ms / 1000, "warning": r.warning,
        "critical": r.critical, "clear": r.clear, "for_s": r.for_ms / 1000,
        "notify": list(r.notify),
    }  # fmt: skip


def _silence_json(s: AlertSilence) -> dict[str, Any]:
    return {"id": s.id, "rule": s.rule, "host": s.host, "labels": s.labels,
            "comment": s.comment, "created_at": s.created_at, "ends_at": s.ends_at}  # fmt: skip


def _ack_json(a: AlertAck) -> dict[str, Any]:
    return {"id": a.id, "rule": a.rule, "host": a.host,
            "series_id": None if a.series_key == store.HOST_LEVEL else a.series_key,
            "starts_at": a.starts_at, "comment": a.comment, "created_at": a.created_at,
            "ends_at": a.ends_at}  # fmt: skip


def _service() -> AlertService:
    service: AlertService = current_app.extensions["hostpulse.alerts"]
    return service


Body = TypeVar("Body", bound=BaseModel)


async def _body(model: type[Body]) -> Body:
    """The request's JSON as ``model``: 400 malformed_json for bad JSON, the schema error else."""
    try:
        return model.model_validate_json(await request.get_data())
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest("the body is not valid JSON", code="malformed_json") from None
        raise RequestSchemaValidationError(exc) from None


def _ends_at(
    ends_at: int | None, duration_s: float | None, now: int, *, required: bool, code: str
) -> int | None:
    """The end time from ``ends_at`` or ``duration_s`` (one of them, or neither if not required)."""
    if ends_at is not None and duration_s is not None:
        raise BadRequest("give one of ends_at (epoch ms) or duration_s, not both", code=code)
    if duration_s is not None:
        return now + int(duration_s * 1000)
    if ends_at is None and required:
        raise BadRequest("give one of ends_at (epoch ms) or duration_s", code=code)
    return ends_at


@blueprint.get("")
@validate_querystring(AlertsQuery)
@answers(AlertList, 400, 401, 503)
async def list_alerts(query_args: AlertsQuery) -> dict[str, object]:
    """Pending and firing alerts as stored (every hub's), firing first, with the silence muting each."""
    rows = AlertState.filter(state__in=("pending", "firing"))
    if query_args.host:
        rows = rows.filter(host=query_args.host)
    if query_args.severity:
        rows = rows.filter(severity=query_args.severity)
    if query_args.state:
        rows = rows.filter(state=query_args.state)
    now = now_ms()
    active = await silences.active(now)
    acked = await acks.active(now)
    out = []
    for a in await rows.order_by("state", "rule", "host"):
        alert = {"rule": a.rule, "kind": a.kind, "state": a.state, "severity": a.severity,
                 "host": a.host, "metric": a.metric, "labels": a.labels, "value": a.value,
                 "since": a.since, "starts_at": a.starts_at,
                 "series_id": None if a.series_key == store.HOST_LEVEL else a.series_key}  # fmt: skip
        out.append({**alert, "silenced_by": silences.silenced_by(active, alert),
                    "acked_by": acks.acked_by(acked, alert) if a.state == "firing" else None})  # fmt: skip
    out.sort(key=lambda x: x["state"] != "firing")
    return {"alerts": out}


@blueprint.get("/rules")
@answers(RuleList, 401, 503)
async def list_rules() -> dict[str, object]:
    """The rules this hub evaluates, built-in ones included (each series' levels: /levels)."""
    return {"rules": [_rule_json(r) for r in _service().config.rules]}


#: Series matched between two yields to the event loop: a first request for 10,000 series under
#: 200 rules matches 2 million (rule, series) pairs, which must not stall ingest in one piece.
LEVELS_SLICE = 500


@blueprint.get("/levels")
@validate_querystring(LevelsQuery)
@answers(LevelList, 400, 401, 503)
async def list_levels(query_args: LevelsQuery) -> dict[str, object]:
    """Each stored series' warning/critical levels, narrowed like /series to one host and one
    metric: those of the first threshold rule that selects it, matched by the rules' own matcher
    (globs, ``~regex``, labels, host labels), so the dashboard's lines are the levels the hub
    alerts on. A series no threshold rule selects is left out."""
    rows = Series.all().order_by("host__name", "metric", "labels_key")
    if query_args.host:
        rows = rows.filter(host__name=query_args.host)
    if query_args.metric:
        rows = rows.filter(metric=query_args.metric)
    found = await rows.values("id", "metric", "labels", "host__name", "host__labels")
    evaluator = _service().evaluator
    # The labels just read: the levels answered are those the evaluator judges the series by.
    evaluator.set_host_labels({r["host__name"]: _labels(r["host__labels"]) for r in found})
    out = []
    for lo in range(0, len(found), LEVELS_SLICE):
        if lo:
            await asyncio.sleep(0)
        for r in found[lo : lo + LEVELS_SLICE]:
            ref = SeriesRef(r["id"], r["host__name"], r["metric"], _labels(r["labels"]))
            rule = evaluator.threshold_of(ref)
            if rule is not None:
                out.append({"series_id": ref.id, "host": ref.host, "metric": ref.metric,
                            "labels": ref.labels, "rule": rule.name, "warning": rule.warning,
                            "critical": rule.critical})  # fmt: skip
    return {"levels": out}


def _labels(value: object) -> dict[str, str]:
    labels = json.loads(value) if isinstance(value, str | bytes) else value
    return dict(labels) if isinstance(labels, dict) else {}


@blueprint.get("/history")
@validate_querystring(HistoryQuery)
@answers(HistoryList, 400, 401, 503)
async def history(query_args: HistoryQuery) -> dict[str, object]:
    """Transitions, newest first, at most ``limit`` (1 to 10,000)."""
    if not 1 <= query_args.limit <= 10_000:
        raise BadRequest("limit: expected 1 to 10000", code="bad_limit")
    rows = AlertTransition.all()
    if query_args.host:
        rows = rows.filter(host=query_args.host)
    if query_args.rule:
        rows = rows.filter(rule=query_args.rule)
    fields = ("rule", "kind", "host", "metric", "labels", "series_key", "previous", "state",
              "severity", "value", "at", "starts_at", "ends_at")  # fmt: skip
    found = await rows.order_by("-id").limit(query_args.limit).values(*fields)
    for t in found:
        key = t.pop("series_key")
        t["series_id"] = None if key == store.HOST_LEVEL else key
    return {"history": list(found)}


@blueprint.get("/delivery")
@answers(DeliveryOut, 401, 503)
async def delivery() -> dict[str, object]:
    """The outbox: messages per status, and the pending ones that failed with their last error."""
    counts = await store.outbox_counts()
    failing = await store.failing(limit=100)
    stats = _service().delivery.stats
    return {**counts, "failed_attempts_total": stats.failed_attempts, "failures": failing}


@blueprint.get("/silences")
@answers(SilenceList, 401, 503)
async def list_silences() -> dict[str, object]:
    """Silences still in force."""
    return {"silences": [_silence_json(s) for s in await silences.active(now_ms())]}


@blueprint.post("/silences")
@document_request(SilenceIn)
@document_response(SilenceOut, 201)
@errors(400, 401, 403, 503)
async def create_silence() -> tuple[dict[str, object], int]:
    """Mute alerts by rule, host glob and labels until ``ends_at`` (or for ``duration_s``)."""
    data = await _body(SilenceIn)
    now = now_ms()
    ends_at = _ends_at(data.ends_at, data.duration_s, now, required=True, code="bad_silence")
    assert ends_at is not None
    try:
        silence = await silences.create(rule=data.rule, host=data.host, labels=data.labels,
                                        ends_at=ends_at, comment=data.comment, now_ms=now)  # fmt: skip
    except ValueError as exc:
        raise BadRequest(str(exc), code="bad_silence") from None
    _service().publish([], changed="silences")
    return _silence_json(silence), 201


# A plain segment, checked here: an int converter leaves "-1" to no route at all (a 405).
@blueprint.delete("/silences/<silence_id>")
@answers(SilenceOut, 401, 403, 404, 503)
async def end_silence(silence_id: str) -> dict[str, object]:
    """End a silence now (it stays in the table, ended)."""
    return _silence_json(await _end("silence", silences.end, silence_id))


Row = TypeVar("Row", AlertSilence, AlertAck)


async def _end(what: str, end: Callable[[int, int], Awaitable[Row | None]], raw_id: str) -> Row:
    """End the silence or ack ``raw_id`` now and tell the dashboards; 404 if none in force."""
    if not raw_id.isascii() or not raw_id.isdigit() or int(raw_id) > 2**31 - 1:
        raise NotFound(f"no {what} with id {raw_id!r}")
    row = await end(int(raw_id), now_ms())
    if row is None:
        raise NotFound(f"no {what} in force with id {raw_id}")
    _service().publish([], changed=f"{what}s")
    return row


@blueprint.get("/acks")
@answers(AckList, 401, 503)
async def list_acks() -> dict[str, object]:
    """Acknowledgements in force: their firing episode goes on and they have not ended."""
    return {"acks": [_ack_json(a) for a in await acks.active(now_ms())]}


@blueprint.post("/acks")
@document_request(AckIn)
@document_response(AckOut, 201)
@errors(400, 401, 403, 404, 503)
async def create_ack() -> tuple[dict[str, object], int]:
    """Acknowledge a firing alert (rule, host, series_id) with a comment, until ``ends_at`` (or
    for ``duration_s``) or, with neither, until it resolves: its repeats stop meanwhile."""
    data = await _body(AckIn)
    now = now_ms()
    ends_at = _ends_at(data.ends_at, data.duration_s, now, required=False, code="bad_ack")
    try:
        ack = await acks.create(rule=data.rule, host=data.host, series_id=data.series_id,
                                comment=data.comment, ends_at=ends_at, now_ms=now)  # fmt: skip
    except acks.NotFiring as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise BadRequest(str(exc), code="bad_ack") from None
    _service().publish([], changed="acks")
    return _ack_json(ack), 201


@blueprint.delete("/acks/<ack_id>")
@answers(AckOut, 401, 403, 404, 503)
async def end_ack(ack_id: str) -> dict[str, object]:
    """End an acknowledgement now: the alert's repeats resume."""
    return _ack_json(await _end("ack", acks.end, ack_id))
