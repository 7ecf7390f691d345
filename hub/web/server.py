"""Serving the app with Hypercorn, programmatically, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import gc
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config
from hypercorn.protocol.ws_stream import WSStream

from hostpulse.hub.settings import Settings
from hostpulse.hub.web.app import create_app


class HubConfig(Config):
    """Hypercorn's config with the one thing the hub adds to it (see offer_ws_compression_by_config)."""

    #: Whether a WebSocket client's permessage-deflate offer is accepted.
    websocket_compression = True


def hypercorn_config(settings: Settings) -> HubConfig:
    config = HubConfig()
    config.bind = [settings.bind]
    config.accesslog = None
    config.errorlog = None  # hypercorn.error propagates to the root logger set up by the CLI
    # Every read has a deadline: without one, a client that sent half its headers held its
    # connection for ever (issue 18: 50 of them, 20 s and more). WebSockets stay open past it by
    # answering the pings (each pong is a read).
    config.read_timeout = settings.read_timeout_s
    # A deadline for the whole request head, too: read_timeout alone never cuts a client that
    # trickles one header byte a second. Hypercorn's keep-alive timer is that deadline already:
    # it runs from the connection's start (or its previous answer) until h11 or h2 has parsed a
    # complete request head, and closes the connection when it fires. Measured: set to 5 s, a
    # 1 byte/s trickler was closed 5.05 s after connecting; set to 4 s, 50 of them were all closed
    # at 4.0 s. It was min(75, read_timeout_s), 30 s by default, before it got a setting of its
    # own. An ordinary request costs the same at 10 s as at 30 (bench/header_deadline.py: latency
    # ratio 1.01, hub CPU 1.00). The timer also closes idle kept-alive connections, which must
    # outlive the agent's flush interval (batch_max_age, 2 s): 10 s does, and httpx lets an idle
    # connection go at 5 s, before the hub does. No more than read_timeout_s either: a read that
    # times out ends the connection's read loop, but Hypercorn closes the socket only once this
    # timer's task ends too (at read_timeout_s 3 and this timer at 10 s, half-open connections
    # were still open 8 s later: tests/hostile/test_stalls.py).
    config.keep_alive_timeout = min(settings.header_timeout_s, settings.read_timeout_s)
    config.ssl_handshake_timeout = settings.header_timeout_s  # asyncio's default is 60 s
    config.websocket_ping_interval = settings.ws_ping_s
    config.websocket_compression = settings.ws_compression == "on"
    config.graceful_timeout = 10
    if settings.certfile or settings.keyfile:
        config.certfile, config.keyfile = settings.certfile, settings.keyfile
    return config


def _wrap_once(cls: type, name: str, wrap: Callable[[Any], Callable[..., Awaitable[None]]]) -> None:
    """Replace the method ``cls.name`` by ``wrap(original)``, once per process however often the
    hub is served in it (the tests serve several)."""
    original = getattr(cls, name)
    if getattr(original, "_hostpulse", False):
        return
    wrapped = wrap(original)
    wrapped._hostpulse = True  # type: ignore[attr-defined]
    setattr(cls, name, wrapped)


def end_connections_at_eof() -> None:
    """Let a connection go as soon as its client has closed it, not when the keep-alive timer fires.

    Hypercorn 0.18's read loop ends at the client's EOF (or a timed-out read), but its connection
    task then waits for the idle timer (``keep_alive_timeout``, 10 s) before it closes, holding the
    connection's objects all along. Held that long, they outlive the young collections and reach
    the generations that ``tune_gc`` collects rarely: ~34 objects in reference cycles a closed
    connection, freed only by a full collection. Measured with ``bench/ingest_memory.py --kind
    healthz`` (1,000 GETs a round on ~900 new connections): the RSS grew 89 -> 216 MiB in 15 rounds,
    8.6 KiB a request, while a full ``gc.collect()`` after each round (past the 10 s) found ~34,000
    objects and kept it flat at 100.0 -> 100.5 MiB over 8 rounds. Stopping the timer when the read
    loop ends closes the socket at once (tests/hub/web/test_server.py): the same run then went
    89.3 -> 100.6 MiB in 12 rounds. The timer still cuts an idle client that keeps its side open
    (tests/hostile/test_stalls.py). It replaces the private ``TCPServer._read_data``, as written
    in Hypercorn 0.18."""

    def wrap(read_data: Callable[[TCPServer], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def read_then_stop_timer(self: TCPServer) -> None:
            try:
                await read_data(self)
            finally:
                await self.idle_task.stop()

        return read_then_stop_timer

    _wrap_once(TCPServer, "_read_data", wrap)


def offer_ws_compression_by_config() -> None:
    """Accept a client's permessage-deflate offer only when ``HubConfig.websocket_compression``.

    Hypercorn 0.18 always accepts it (``Handshake.accept`` in hypercorn/protocol/ws_stream.py
    lists ``PerMessageDeflate()`` with no setting to leave it out), and then every session
    compresses its own copy of every frame on the event loop with a compressor of its own
    (~260 KiB). Negotiated away, the handshake answers without ``Sec-WebSocket-Extensions`` and
    the client sends and receives plain frames, as RFC 7692 lets a server do. It replaces the
    private ``WSStream._accept`` and clears the parsed offer (``Handshake.extensions``) before
    the answer is built, as written in Hypercorn 0.18 (tests/hub/web/test_server.py notices a
    Hypercorn that no longer reads it)."""

    def wrap(accept: Callable[[WSStream, Any], Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def accept_as_configured(self: WSStream, message: Any) -> None:
            if not getattr(self.config, "websocket_compression", True):
                self.handshake.extensions = None  # as if the client had offered no extension
            await accept(self, message)

        return accept_as_configured

    _wrap_once(WSStream, "_accept", wrap)


async def serve_hub(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set, or until SIGINT/SIGTERM when no event is given."""
    end_connections_at_eof()
    offer_ws_compression_by_config()
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await serve(create_app(settings), hypercorn_config(settings), shutdown_trigger=stop.wait)


def run_hub(settings: Settings) -> None:
    """Serve in this process until SIGINT/SIGTERM: on uvloop where it is installed, and with the
    cyclic garbage collector tuned for a server that allocates a lot and keeps little.

    Measured together, one hub so configured beside one not under the same load
    (``bench/multihub.py --plain-hub a`` and ``--plain-hub b``): 1-11 % less hub CPU per request."""
    tune_gc()
    shorten_gil_switch()
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows): asyncio's own loop serves too
        asyncio.run(serve_hub(settings))
    else:
        uvloop.run(serve_hub(settings))


def tune_gc() -> None:
    """Fewer, cheaper collections. A batch waits ~100 ms for its group commit, long enough to
    survive young collections at the default threshold (700 allocations, a few per request) and
    be promoted into the generations that are walked again and again; with young collections every
    20,000 allocations most requests' objects are freed by reference counting first. What exists
    before serving (modules, settings) lives as long as the process: frozen, never walked again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


#: How long a thread holding the GIL runs before one waiting for it is let in, in seconds
#: (CPython's default is 0.005). While ingest's worker thread decodes a big body, every turn of
#: the event loop and every aiosqlite reply waits up to that long for the GIL, and one /healthz
#: takes several such turns: during tests/hostile/test_big_bodies.py its slowest probe was 64-117
#: ms with the default (4 of 5 runs at 99 or more) and 54-64 ms at 0.0005 (5 runs each, 2 cores,
#: 2026-12-07). It costs the hub no CPU that shows: 3.23-3.25x the floor's CPU per request at
#: 0.0005, 3.24-3.68x at the default (bench/hub_requests.py --targets floor,sqlite --duration 8,
#: twice each, interleaved).
GIL_SWITCH_S = 0.0005


def shorten_gil_switch() -> None:
    """Let the event loop back in sooner while a worker thread runs Python (see GIL_SWITCH_S)."""
    sys.setswitchinterval(GIL_SWITCH_S)
