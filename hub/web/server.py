"""Serving the app with Hypercorn, programmatically, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import gc
import signal

from hypercorn.asyncio import serve
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.config import Config

from hostpulse.hub.settings import Settings
from hostpulse.hub.web.app import create_app


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
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
    config.graceful_timeout = 10
    if settings.certfile or settings.keyfile:
        config.certfile, config.keyfile = settings.certfile, settings.keyfile
    return config


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
    (tests/hostile/test_stalls.py)."""
    if getattr(TCPServer._read_data, "_hostpulse", False):
        return
    read_data = TCPServer._read_data

    async def read_then_stop_timer(self: TCPServer) -> None:
        try:
            await read_data(self)
        finally:
            await self.idle_task.stop()

    read_then_stop_timer._hostpulse = True  # type: ignore[attr-defined]
    TCPServer._read_data = read_then_stop_timer  # type: ignore[method-assign]


async def serve_hub(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set, or until SIGINT/SIGTERM when no event is given."""
    end_connections_at_eof()
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
