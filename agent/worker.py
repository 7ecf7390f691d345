"""A daemon thread per synchronous source.

``asyncio.to_thread`` would share the default executor: a handful of hung sources would fill it and
stall every other source, and ``asyncio.run`` joins those threads at exit, so a hung ``collect()``
would also keep the agent from stopping. A daemon thread of its own per source has neither problem:
a hung collect blocks only its own source, and the process still exits on SIGTERM.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller timed out and cancelled it
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Worker:
    """Runs callables one at a time on a daemon thread and hands results back to the event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.busy = False
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Schedule ``fn`` on the thread; the returned future may be cancelled without harm."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name=f"hostpulse-source-{self.name}", daemon=True
            )
            self._thread.start()
        self.busy = True
        self._queue.put((fn, future, loop))
        return future

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, future, loop = item
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop, which decides
                error = exc
            self.busy = False
            try:
                loop.call_soon_threadsafe(_settle, future, result, error)
            except RuntimeError:  # the loop has closed: nobody is waiting any more
                return

    def stop(self) -> None:
        """Let the thread end after its current call; a hung call is abandoned (daemon thread)."""
        if self._thread is not None:
            self._queue.put(None)
