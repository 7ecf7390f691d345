"""WebSocket /api/v1/stream: live frames for what the client subscribed to."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from quart import Blueprint, websocket

from hostpulse.hub.auth.hashing import hash_token
from hostpulse.hub.auth.viewers import is_viewer, presented_token, viewer_for, viewers_required
from hostpulse.hub.live.bus import Subscription, TooManySessions
from hostpulse.hub.state import hub_state
from hostpulse.wire import MAX_HOST, MAX_METRIC

blueprint = Blueprint("stream", __name__, url_prefix="/api/v1")

#: Host names or metric patterns one subscription may list (each as long as its column at most).
MAX_PATTERNS = 256


@blueprint.websocket("/stream")
async def stream() -> None:
    """Send ``{"type": "subscribe", "hosts": [...], "metrics": [...]}``; receive ``points`` frames.
    Host and Origin were checked before this runs (hostpulse.hub.auth.viewers)."""
    if not await is_viewer(ws=True):
        await websocket.close(1008, "a viewer token is required")
        return
    state = hub_state()
    token = presented_token(ws=True) if viewers_required(state.settings) else None
    try:
        session = state.bus.subscribe(None if token is None else hash_token(token))
        sub = await session.__aenter__()
    except TooManySessions as exc:
        # Accepted first: closed before accepting, the upgrade is a bare 403 and says nothing.
        await websocket.accept()
        await websocket.close(1013, str(exc))  # "try again later"
        return
    state.ws_clients += 1
    try:
        await websocket.accept()
        tasks = [
            asyncio.create_task(_read_subscriptions(sub)),
            asyncio.create_task(_send_frames(sub)),
        ]
        if token is not None:
            tasks.append(asyncio.create_task(_end_when_revoked(token, state.settings.ws_ping_s)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cancelled and awaited, all of them: a task left pending when the handler ends was
            # "destroyed but pending" in the log (issue 18: 22 after WebSocket probes).
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        state.ws_clients -= 1
        await session.__aexit__(None, None, None)


async def _send_frames(sub: Subscription) -> None:
    while True:
        await websocket.send(await sub.queue.get())


async def _end_when_revoked(token: str, every_s: float) -> None:
    """Revoking a viewer token (or logging out of a session) ends its sessions within every_s."""
    while True:
        await asyncio.sleep(every_s)
        if await viewer_for(token) is None:
            await websocket.close(1008, "the viewer token was revoked")
            return


async def _read_subscriptions(sub: Subscription) -> None:
    while True:
        raw = await websocket.receive()
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await _send_error("bad_message", "frames must be JSON")
            continue
        if not isinstance(message, dict) or message.get("type") != "subscribe":
            await _send_error("bad_message", "expected a subscribe message")
            continue
        hosts = _patterns(message, "hosts", MAX_HOST)
        metrics = _patterns(message, "metrics", MAX_METRIC)
        if isinstance(hosts, str) or isinstance(metrics, str):
            await _send_error("bad_message", hosts if isinstance(hosts, str) else str(metrics))
            continue
        sub.subscribe(hosts, metrics)
        await websocket.send(
            orjson.dumps({"type": "subscribed", "hosts": hosts, "metrics": metrics}).decode()
        )


def _patterns(message: dict[str, Any], key: str, max_length: int) -> list[str] | str:
    """The list under ``key`` (omitted, null or empty: everything), or what is wrong with it."""
    value = message.get(key)
    if value is None or value == []:
        return ["*"]
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        return f"{key} must be a list of strings, not {orjson.dumps(value).decode()[:60]}"
    if len(value) > MAX_PATTERNS:
        return f"{key} lists {len(value)} entries; at most {MAX_PATTERNS} are accepted"
    if any(len(x) > max_length for x in value):
        return f"{key}: each entry has at most {max_length} characters"
    return value


async def _send_error(code: str, message: str) -> None:
    frame = {"type": "error", "error": {"code": code, "message": message}}
    await websocket.send(orjson.dumps(frame).decode())
