"""WebSocket /api/v1/stream: live frames for what the client subscribed to."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import orjson
from quart import Blueprint, websocket

from hostpulse.hub.auth.viewers import is_viewer
from hostpulse.hub.live.bus import Subscription
from hostpulse.hub.state import hub_state

blueprint = Blueprint("stream", __name__, url_prefix="/api/v1")


@blueprint.websocket("/stream")
async def stream() -> None:
    """Send ``{"type": "subscribe", "hosts": [...], "metrics": [...]}``; receive ``points`` frames."""
    if not _same_origin():
        await websocket.close(1008, "cross-origin WebSocket refused")
        return
    if not await is_viewer(ws=True):
        await websocket.close(1008, "a viewer token is required")
        return
    await websocket.accept()
    state = hub_state()
    state.ws_clients += 1
    try:
        async with state.bus.subscribe() as sub:
            reader = asyncio.create_task(_read_subscriptions(sub))
            try:
                while not reader.done():
                    getter = asyncio.ensure_future(sub.queue.get())
                    await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break
                    await websocket.send(getter.result())
            finally:
                reader.cancel()
    finally:
        state.ws_clients -= 1


async def _read_subscriptions(sub: Subscription) -> None:
    while True:
        raw = await websocket.receive()
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await websocket.send(
                orjson.dumps(_error("bad_message", "frames must be JSON")).decode()
            )
            continue
        if not isinstance(message, dict) or message.get("type") != "subscribe":
            await websocket.send(
                orjson.dumps(_error("bad_message", "expected a subscribe message")).decode()
            )
            continue
        hosts = message.get("hosts") or ["*"]
        metrics = message.get("metrics") or ["*"]
        if not all(isinstance(x, str) for x in [*hosts, *metrics]):
            await websocket.send(
                orjson.dumps(
                    _error("bad_message", "hosts and metrics are lists of strings")
                ).decode()
            )
            continue
        sub.hosts = frozenset(hosts)
        sub.metrics = tuple(metrics)
        await websocket.send(
            orjson.dumps({"type": "subscribed", "hosts": hosts, "metrics": metrics}).decode()
        )


def _same_origin() -> bool:
    """Browsers send Origin on WebSocket upgrades; refuse pages of other sites (CSWSH).
    Non-browser clients send none and are let through (viewer tokens cover them later)."""
    origin = websocket.headers.get("Origin")
    if not origin:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("Host", "")


def _error(code: str, message: str) -> dict[str, object]:
    return {"type": "error", "error": {"code": code, "message": message}}
