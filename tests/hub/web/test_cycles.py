"""hub/web/cycles.py: a connection Hypercorn has closed is freed by reference counting, not left
in a reference cycle for the collector. The hub is served in this process (Hypercorn on a real
socket, in a thread of its own), so the test sees what the collector finds."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypercorn.asyncio.tcp_server import TCPServer

from hostpulse.hub.settings import Settings
from hostpulse.hub.web.server import serve_hub
from tests.support.hub_process import free_port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    settings = Settings(db=f"sqlite://{tmp_path / 'hub.sqlite3'}", bind=f"127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve_hub(settings, stop),))
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def servers_alive() -> int:
    return sum(isinstance(o, TCPServer) for o in gc.get_objects())


def test_closed_connections_leave_nothing_to_the_cyclic_collector(served: str) -> None:
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):  # each on a connection of its own, closed by the client
            with httpx.Client() as client:
                assert client.get(f"{served}/healthz").status_code == 200
        for _ in range(300):  # the hub ends each connection at its client's EOF
            if servers_alive() <= 1:  # the /healthz connection of the fixture may linger
                break
            time.sleep(0.05)
        gc.collect()
        left = [o for o in gc.garbage if isinstance(o, TCPServer)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == []
