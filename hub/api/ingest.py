"""POST /api/v1/ingest: authenticate, validate, queue for the group commit, acknowledge, publish."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from itertools import chain
from typing import cast

import numpy as np
from pydantic import ValidationError
from quart import Blueprint, current_app, g, request
from quart_schema import RequestSchemaValidationError, document_request, document_response

from hostpulse.hub.anomaly.scoring import anomaly_frames, points_frame
from hostpulse.hub.api.clocks import Reading, describe
from hostpulse.hub.api.dedupe import Columns, keep_once
from hostpulse.hub.api.schemas import errors
from hostpulse.hub.api.wire import (
    BIG_BODY_BYTES,
    Batch,
    IngestBatch,
    IngestResult,
    SeriesIn,
    TooManySeries,
    parse_batch,
)
from hostpulse.hub.errors import (
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from hostpulse.hub.settings import Settings
from hostpulse.hub.state import HubState, hub_state
from hostpulse.hub.storage.models import Host
from hostpulse.hub.storage.registry import SeriesLimitReached
from hostpulse.hub.storage.writer import PendingBatch, SeriesBlock
from hostpulse.wire import now_ms

blueprint = Blueprint("ingest", __name__, url_prefix="/api/v1")

#: Big bodies (hub/api/wire.py's BIG_BODY_BYTES) are decoded here, one at a time: decoding holds
#: the GIL between its pieces, so a second thread would only take more of the event loop's turns.
_DECODER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hostpulse-decode")


@blueprint.before_request
async def authenticate() -> None:
    # Before the body is read, so an anonymous client cannot make the hub decode anything.
    arrived = now_ms()  # before the token lookup, which may wait on the database
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "an agent token is required: Authorization: Bearer <token>", code="missing_token"
        )
    host = await hub_state().tokens.host(token.strip())
    if host is None:
        raise Unauthorized("unknown or revoked token", code="invalid_token")
    g.host = host
    # Also for batches refused later: a clock running ahead shows as refused timestamps.
    g.clock = hub_state().clocks.observe(host, request.headers.get("Date"), arrived)
    hub_state().rate_limit.take(host.id)
    if request.method == "POST" and request.mimetype != "application/json":
        raise UnsupportedMediaType(
            f"send the batch as application/json, not {request.mimetype or 'no content type'}",
            code="unsupported_media_type",
        )
    if request.method == "POST":  # back-pressure before the body is decoded, per host
        hub_state().writer.check_room(host.id)


@blueprint.after_app_serving
async def release_claims() -> None:
    await hub_state().claims.close()


@blueprint.post("/ingest")
@document_request(IngestBatch)
@document_response(IngestResult, 200)  # documented, not validated: 0.05 ms a request (py-spy)
@errors(400, 401, 403, 413, 415, 429, 503)
async def ingest() -> dict[str, object]:
    """Store a batch of samples. Answered only after the batch is committed."""
    state = hub_state()
    host: Host = g.host
    body = await request.get_data()
    try:
        if len(body) > BIG_BODY_BYTES:  # in the worker thread, so that the loop keeps serving
            data, columns = await asyncio.get_running_loop().run_in_executor(
                _DECODER, _decode, body, host.name, state.settings
            )
        else:
            data, columns = _decode(body, host.name, state.settings)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest(
                f"the body is not valid JSON: {exc.errors()[0]['msg']}", code="malformed_json"
            ) from None
        raise RequestSchemaValidationError(exc) from None
    received = now_ms()
    ts_all, values_all, offsets = columns.ts, columns.values, columns.offsets
    _check_clock(state, ts_all, received, g.clock)
    # The batch_id is this request's until its batch is committed or refused: a request reusing
    # it meanwhile waits here, then finds it stored and changes nothing (hub/api/claims.py).
    async with state.claims.hold(host.id, data.batch_id) as claim:
        infos = state.registry.cached(host.id, columns.items)
        if infos is None:  # series to create or a unit to change: other hubs must wait too
            await claim.across_hubs()
            if await state.writer.committed(host.id, data.batch_id):
                # a reused batch_id changes nothing: no series created, no unit changed
                return {"batch_id": data.batch_id, "accepted": 0, "duplicate": True}
            try:
                infos = await state.registry.resolve_many(host.id, host.name, columns.items)
            except SeriesLimitReached as exc:
                raise BadRequest(str(exc), code="series_limit_reached") from None
        blocks = [
            SeriesBlock(info.id, ts_all[lo:hi], values_all[lo:hi], info.metric)
            for info, lo, hi in zip(infos, offsets[:-1], offsets[1:], strict=True)
        ]
        await state.detector_state.prepare([info.id for info in infos])
        batch = PendingBatch(
            host_id=host.id,
            batch_id=data.batch_id,
            agent_version=data.agent.version,
            blocks=blocks,
            samples=int(ts_all.size),
            received_at=received,
        )
        claim.until(batch.done)
        # The writer scores the batch with the rest of its group, then stores it with its anomalies.
        duplicate = await state.writer.submit(batch)
    if not duplicate:  # committed: alert rules see the batch now, not by re-reading the database
        current_app.extensions["hostpulse.alerts"].observe_batch(infos, batch)
    if not duplicate and state.bus.has_subscribers:
        state.bus.publish(points_frame(host.name, received, infos, batch))
        for frame in anomaly_frames(host.name, received, infos, batch):
            state.bus.publish(frame)
    accepted = 0 if duplicate else batch.samples
    return {"batch_id": data.batch_id, "accepted": accepted, "duplicate": duplicate}


def _decode(body: bytes | str, host: str, settings: Settings) -> tuple[Batch, Columns]:
    """The batch in ``body``, checked against the limits, each series and timestamp once: what
    grows with the body, all in one function that a big body runs in the worker thread."""
    # msgspec structs straight from the bytes (hub/api/wire.py's parse_batch); a body they refuse
    # goes through the quart-schema model, whose errors are the answer.
    try:
        data = parse_batch(body, max_series=settings.max_series_per_batch)
    except TooManySeries as exc:
        raise _too_many_series(exc.count, settings) from None
    if data.host != host:
        raise Forbidden(
            f"this token belongs to host {host!r}, not {data.host!r}", code="host_mismatch"
        )
    _check_limits(settings, data)
    # Each series once, each of its timestamps once (the last given): hub/api/dedupe.py.
    ts_all, values_all, offsets = _columns(data)
    # keep_once reads metric, labels and unit, which Series has as SeriesIn has them.
    return data, keep_once(cast("list[SeriesIn]", data.series), ts_all, values_all, offsets)


def _columns(data: Batch) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """All timestamps and values of the batch as two flat arrays; series i is [offsets[i], offsets[i+1])."""
    lengths = [len(s.ts) for s in data.series]
    offsets = [0, *np.cumsum(lengths).tolist()]
    ts = np.fromiter(
        chain.from_iterable(s.ts for s in data.series), dtype=np.int64, count=offsets[-1]
    )
    values = np.fromiter(
        chain.from_iterable(s.values for s in data.series), dtype=np.float64, count=offsets[-1]
    )
    return ts, values, offsets


def _too_many_series(count: int, settings: Settings) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{count} series in one batch; the limit is {settings.max_series_per_batch}",
        code="too_many_series",
    )


def _check_limits(settings: Settings, data: Batch) -> None:
    if len(data.series) > settings.max_series_per_batch:
        raise _too_many_series(len(data.series), settings)
    total = sum(len(s.ts) for s in data.series)
    if total > settings.max_samples_per_batch:
        raise PayloadTooLarge(
            f"{total} samples in one batch; the limit is {settings.max_samples_per_batch}",
            code="too_many_samples",
        )
    for s in data.series:
        if len(s.ts) > settings.max_points_per_series:
            raise PayloadTooLarge(
                f"{s.metric}: {len(s.ts)} points in one batch; the limit is "
                f"{settings.max_points_per_series} per series",
                code="too_many_points",
            )
        if len(s.labels) > settings.max_labels:
            raise BadRequest(
                f"{s.metric}: {len(s.labels)} labels; the limit is {settings.max_labels}",
                code="too_many_labels",
            )
        for key, value in s.labels.items():
            if (
                not key
                or len(key) > settings.max_label_length
                or len(value) > settings.max_label_length
            ):
                raise BadRequest(
                    f"{s.metric}: label {key[:40]!r} needs a name, and name and value of at most "
                    f"{settings.max_label_length} characters",
                    code="label_too_long",
                )


def _check_clock(state: HubState, ts: np.ndarray, received: int, clock: Reading | None) -> None:
    oldest = received - int(state.settings.max_past_s * 1000)
    newest = received + int(state.settings.max_future_s * 1000)
    if ts.min() < oldest or ts.max() > newest:
        skew = f"; {describe(clock.offset_ms)}" if clock is not None else ""
        raise BadRequest(
            f"timestamps must lie between {oldest} and {newest} "
            f"(epoch ms; the hub's clock reads {received}){skew}",
            code="timestamp_out_of_range",
        )
