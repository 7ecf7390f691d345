"""ASGI middleware: inflate ``Content-Encoding: gzip`` request bodies before Quart sees them.

Both sides are bounded: the compressed body by ``max_bytes`` and the inflated one too, read
incrementally, so a gzip bomb costs at most ``max_bytes`` of memory before it is refused with 413.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson

from hostpulse.hub.errors import error_body

Scope = dict[str, Any]


class GzipRequestMiddleware:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not _is_gzip(scope):
            await self.app(scope, receive, send)
            return
        compressed = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            compressed += message.get("body", b"")
            if len(compressed) > self.max_bytes:
                await _reply(send, 413, "payload_too_large", f"body over {self.max_bytes} bytes")
                return
            if not message.get("more_body"):
                break
        inflater = zlib.decompressobj(wbits=31)
        try:
            body = inflater.decompress(bytes(compressed), self.max_bytes + 1)
        except zlib.error as exc:
            await _reply(send, 400, "bad_gzip", f"the gzip body could not be inflated: {exc}")
            return
        if len(body) > self.max_bytes or inflater.unconsumed_tail:
            await _reply(
                send, 413, "payload_too_large", f"inflated body over {self.max_bytes} bytes"
            )
            return
        if not inflater.eof:
            await _reply(send, 400, "bad_gzip", "the gzip body is truncated")
            return
        headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")
        ] + [(b"content-length", str(len(body)).encode())]
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def _is_gzip(scope: Scope) -> bool:
    return any(
        k == b"content-encoding" and v.strip().lower() == b"gzip" for k, v in scope["headers"]
    )


async def _reply(send: Any, status: int, code: str, message: str) -> None:
    body = orjson.dumps(error_body(code, message))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
