"""ASGI middleware: inflate ``Content-Encoding: gzip`` request bodies before Quart sees them, but
only for a request whose bearer token the hub knows.

Issue 18 measured the old order (inflate, then authenticate): 8 concurrent anonymous 31 KB posts
inflating to 31 MiB each took the hub from 99 to 502 MB RSS, all answered 401. Now a request
without a known token is handed to the app as it came, still compressed, and the app refuses it
(401) before reading its body; so an anonymous client makes the hub inflate nothing.

Everything else is bounded too: the compressed and the inflated body by ``max_bytes`` (413),
inflated in pieces of :data:`PIECE` bytes with the event loop free between them, and the whole body
must arrive within ``timeout_s`` (408). Only ``gzip`` and ``identity`` are understood; any other
Content-Encoding (``deflate``, ``br``, ``x-gzip``, a list such as ``gzip, identity``) is 415, and
data after the gzip member (garbage, or a second member) is 400: nothing of a body is ignored.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable

import orjson
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    HTTPScope,
    Scope,
)

from hostpulse.wire import error_body

#: What it wraps: Quart's ``app.asgi_app``.
ASGIApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]
#: Whether a bearer token is one the hub accepts (an agent's): TokenCache.host, in the app.
TokenCheck = Callable[[str], Awaitable[bool]]
#: Inflated bytes per step: a 32 MiB body yields to the event loop every ~1 ms of zlib.
PIECE = 1 << 20
ENCODINGS = (b"gzip", b"identity")


class GzipRequestMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, known_token: TokenCheck, timeout_s: float
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.known_token = known_token
        self.timeout_s = timeout_s

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = _encoding(scope)
        if encoding is not None and encoding not in ENCODINGS:
            await _reply(
                send,
                415,
                "unsupported_encoding",
                f"Content-Encoding {encoding.decode(errors='replace')!r} is not understood: "
                "send gzip or identity",
            )
            return
        token = _bearer(scope)
        if encoding != b"gzip" or token is None or not await self.known_token(token):
            await self.app(scope, receive, send)  # an anonymous gzip body is refused unread
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            # Refused by its size before a byte is read, whatever it holds: a 100 MB body is
            # 413 whether or not its first bytes happen to be valid gzip.
            await _reply(send, 413, "payload_too_large", f"body over {self.max_bytes} bytes")
            return
        try:
            async with asyncio.timeout(self.timeout_s):
                body = await self._inflate(receive, send)
        except TimeoutError:
            await _reply(
                send, 408, "body_timeout", f"the body did not arrive within {self.timeout_s:g} s"
            )
            return
        if body is None:
            return
        headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")
        ] + [(b"content-length", str(len(body)).encode())]
        sent = False

        async def replay() -> ASGIReceiveEvent:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        inflated: HTTPScope = {**scope, "headers": headers}
        await self.app(inflated, replay, send)

    async def _inflate(
        self, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> bytearray | None:
        """The inflated body, or None when a refusal was sent (or the client left)."""
        inflater = zlib.decompressobj(wbits=31)
        body = bytearray()
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: the client left
                return None
            chunk = message["body"]
            received += len(chunk)
            if received > self.max_bytes:
                await _reply(send, 413, "payload_too_large", f"body over {self.max_bytes} bytes")
                return None
            try:
                while chunk and not inflater.eof:
                    body += inflater.decompress(chunk, PIECE)
                    chunk = inflater.unconsumed_tail
                    if len(body) > self.max_bytes:
                        await _reply(
                            send,
                            413,
                            "payload_too_large",
                            f"inflated body over {self.max_bytes} bytes",
                        )
                        return None
                    await asyncio.sleep(0)
            except zlib.error as exc:
                await _reply(send, 400, "bad_gzip", f"the gzip body could not be inflated: {exc}")
                return None
            if inflater.eof and (chunk or inflater.unused_data):
                await _reply(
                    send,
                    400,
                    "bad_gzip",
                    "data after the end of the gzip body (garbage or a second member)",
                )
                return None
            if not message.get("more_body"):
                break
        if not inflater.eof:
            await _reply(send, 400, "bad_gzip", "the gzip body is truncated")
            return None
        return body


def _encoding(scope: HTTPScope) -> bytes | None:
    """The request's Content-Encoding, lowercased, several headers joined as a list would be."""
    values = [v.strip().lower() for k, v in scope["headers"] if k == b"content-encoding"]
    return b", ".join(values) if values else None


def _content_length(scope: HTTPScope) -> int | None:
    for k, v in scope["headers"]:
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


def _bearer(scope: HTTPScope) -> str | None:
    for k, v in scope["headers"]:
        if k == b"authorization":
            scheme, _, token = v.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def _reply(send: ASGISendCallable, status: int, code: str, message: str) -> None:
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
    await send({"type": "http.response.body", "body": body, "more_body": False})
