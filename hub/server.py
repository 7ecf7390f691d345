"""Serving the app with Hypercorn, programmatically, until SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config

from hub.app import create_app
from hub.settings import Settings


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [settings.bind]
    config.accesslog = None
    config.errorlog = None  # hypercorn.error propagates to the root logger set up by the CLI
    # Agents keep connections open between batches; keep-alive must outlive the flush interval.
    config.keep_alive_timeout = 75
    config.graceful_timeout = 10
    if settings.certfile or settings.keyfile:
        config.certfile, config.keyfile = settings.certfile, settings.keyfile
    return config


async def serve_hub(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set, or until SIGINT/SIGTERM when no event is given."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await serve(create_app(settings), hypercorn_config(settings), shutdown_trigger=stop.wait)
