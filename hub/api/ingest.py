"""POST /api/v1/ingest: authenticate, validate, queue for the group commit, acknowledge, publish."""

from __future__ import annotations

import numpy as np
from quart import Blueprint, g, request
from quart_schema import validate_request, validate_response

from hub.errors import BadRequest, Forbidden, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from hub.state import hub_state
from hub.storage.writer import PendingBatch, SeriesBlock
from hub.tokens import host_for_token, now_ms
from hub.wire import ErrorResponse, IngestBatch, IngestResult

blueprint = Blueprint("ingest", __name__, url_prefix="/api/v1")


@blueprint.before_request
async def authenticate() -> None:
    # Before the body is parsed, so an anonymous client cannot make the hub decode anything.
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "an agent token is required: Authorization: Bearer <token>", code="missing_token"
        )
    host = await host_for_token(token.strip())
    if host is None:
        raise Unauthorized("unknown or revoked token", code="invalid_token")
    g.host = host
    if request.method == "POST" and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"send the batch as application/json, not {request.mimetype or 'no content type'}",
            code="unsupported_media_type",
        )


@blueprint.post("/ingest")
@validate_request(IngestBatch)
@validate_response(IngestResult, 200)
@validate_response(ErrorResponse, 400)
async def ingest(data: IngestBatch) -> IngestResult:
    """Store a batch of samples. Answered only after the batch is committed."""
    state = hub_state()
    settings = state.settings
    host = g.host
    if data.host != host.name:
        raise Forbidden(
            f"this token belongs to host {host.name!r}, not {data.host!r}", code="host_mismatch"
        )
    total = sum(len(s.ts) for s in data.series)
    if total > settings.max_samples_per_batch:
        raise PayloadTooLarge(
            f"{total} samples in one batch; the limit is {settings.max_samples_per_batch}",
            code="too_many_samples",
        )
    if len(data.series) > settings.max_series_per_batch:
        raise PayloadTooLarge(
            f"{len(data.series)} series in one batch; the limit is {settings.max_series_per_batch}",
            code="too_many_series",
        )
    received = now_ms()
    oldest = received - int(settings.max_past_s * 1000)
    newest = received + int(settings.max_future_s * 1000)

    blocks: list[SeriesBlock] = []
    frame_series: list[dict[str, object]] = []
    for item in data.series:
        _check_labels(item.metric, item.labels, settings.max_labels, settings.max_label_length)
        ts = np.asarray(item.ts, dtype=np.int64)
        values = np.asarray(item.values, dtype=np.float64)
        if ts.min() < oldest or ts.max() > newest:
            raise BadRequest(
                f"{item.metric}: timestamps must lie between {oldest} and {newest} (epoch ms, hub clock {received})",
                code="timestamp_out_of_range",
            )
        info = await state.registry.resolve(host.id, host.name, item.metric, item.labels, item.unit)
        blocks.append(SeriesBlock(info.id, ts, values))
        frame_series.append(
            {
                **info.as_json(),
                "points": [[t, v] for t, v in zip(item.ts, item.values, strict=True)],
            }
        )

    batch = PendingBatch(
        host_id=host.id,
        batch_id=data.batch_id,
        agent_version=data.agent.version,
        blocks=blocks,
        samples=total,
        received_at=received,
    )
    duplicate = await state.writer.submit(batch)
    if not duplicate:
        state.bus.publish(
            {"type": "points", "host": host.name, "received_at": received, "series": frame_series}
        )
    return IngestResult(
        batch_id=data.batch_id, accepted=0 if duplicate else total, duplicate=duplicate
    )


def _check_labels(metric: str, labels: dict[str, str], max_labels: int, max_length: int) -> None:
    if len(labels) > max_labels:
        raise BadRequest(
            f"{metric}: {len(labels)} labels; the limit is {max_labels}", code="too_many_labels"
        )
    for key, value in labels.items():
        if not key or len(key) > max_length or len(value) > max_length:
            raise BadRequest(
                f"{metric}: label {key[:40]!r} must have a name and a value of at most {max_length} characters",
                code="label_too_long",
            )
