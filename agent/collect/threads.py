"""Where synchronous sources run: one shared daemon thread, and a thread of its own for a slow one.

Ten sources each waking a thread of its own every second cost the agent more than the sources'
own work (issue 3: 0.37 % of a core for the threads of nine sources doing 0.15 % of work, 0.28 %
on one thread): each wake is a futex, a context switch and a fight for the GIL. So the sources due
at a tick queue on one shared thread, which runs them one after the other in a few milliseconds.

That must not let a slow or hung source hold the others back. A job that has run for more than
``SLOW_S`` while others wait behind it, or past its source's timeout, is *evicted*: its thread
leaves the shared pool (it finishes that one job, then ends) and a new shared thread takes the
queue; the slow source gets a thread of its own from then on, as every source used to. So a hung
source delays the others by ``SLOW_S`` at most, once.

``asyncio.to_thread`` is not used: the default executor would join a hung thread at exit and keep
the agent from stopping; these threads are daemons.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Seconds a job may hold the shared thread while others wait, before it is moved off it.
SLOW_S = 0.05


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller timed out and cancelled it
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


@dataclass(eq=False)
class Job:
    """One call of ``fn`` for the source ``owner``; ``running`` is true until it has returned."""

    owner: str
    fn: Callable[[], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    running: bool = True
    started: float | None = None
    #: Called on the event loop when the job is moved off the shared thread.
    on_evict: Callable[[], None] | None = None

    def run(self) -> None:
        result: Any = None
        error: BaseException | None = None
        if not self.future.cancelled():  # timed out before its turn: not worth running late
            try:
                result = self.fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the event loop, which decides
                error = exc
        self.running = False
        try:
            self.loop.call_soon_threadsafe(_settle, self.future, result, error)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


@dataclass(eq=False)
class _Thread:
    thread: threading.Thread | None = None
    current: Job | None = None
    retired: bool = False


@dataclass(eq=False)
class Pool:
    """Runs jobs on shared daemon threads (normally one), evicting a job that holds one too long."""

    slow: float = SLOW_S
    #: Names the threads: ``hostpulse-source-NAME`` for a source's own, else a shared thread.
    owner: str | None = None
    _pending: deque[Job] = field(default_factory=deque)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _threads: list[_Thread] = field(default_factory=list)
    _check: asyncio.TimerHandle | None = None
    _spawned: int = 0

    def submit(self, owner: str, fn: Callable[[], Any],
               on_evict: Callable[[], None] | None = None) -> Job:
        loop = asyncio.get_running_loop()
        job = Job(owner, fn, loop.create_future(), loop, on_evict=on_evict)
        with self._cond:
            if not self._threads:
                self._spawn()
            self._pending.append(job)
            self._cond.notify()
        if self.owner is None and self._check is None:
            self._check = loop.call_later(self.slow, self._watch)
        return job

    def _spawn(self) -> None:
        state = _Thread()
        self._spawned += 1
        name = f"hostpulse-source-{self.owner}" if self.owner else f"hostpulse-sources-{self._spawned}"
        state.thread = threading.Thread(target=self._run, args=(state,), name=name, daemon=True)
        self._threads.append(state)
        state.thread.start()

    def _run(self, state: _Thread) -> None:
        while True:
            with self._cond:
                while not self._pending and not state.retired:
                    self._cond.wait()
                if state.retired:
                    return
                job = state.current = self._pending.popleft()
                job.started = time.monotonic()
            job.run()
            with self._cond:
                state.current = None
                if state.retired:
                    return

    def _watch(self) -> None:
        """On the event loop, ``slow`` after a submit: move long-running jobs off shared threads."""
        self._check = None
        now = time.monotonic()
        with self._cond:
            late = [
                s for s in self._threads
                if s.current is not None and s.current.started is not None
                and now - s.current.started >= self.slow and self._pending
            ]
            busy = any(s.current is not None for s in self._threads) or self._pending
        for state in late:
            self._evict(state)
        if busy:
            self._check = asyncio.get_running_loop().call_later(self.slow, self._watch)

    def timed_out(self, job: Job) -> None:
        """The caller gave up on ``job``: if it is still running on a shared thread, evict it."""
        with self._cond:
            state = next((s for s in self._threads if s.current is job), None)
        if state is not None:
            self._evict(state)

    def _evict(self, state: _Thread) -> None:
        with self._cond:
            if state not in self._threads:
                return
            self._threads.remove(state)
            state.retired = True
            job = state.current
            if state.thread is not None and job is not None:
                state.thread.name = f"hostpulse-source-{job.owner}"
            if self._pending:
                self._spawn()
            self._cond.notify_all()
        if job is not None and job.on_evict is not None:
            job.on_evict()

    def stop(self) -> None:
        """Let the shared threads end once idle; a hung job's thread is abandoned (a daemon)."""
        with self._cond:
            for state in self._threads:
                state.retired = True
            self._threads.clear()
            self._pending.clear()
            self._cond.notify_all()
        if self._check is not None:
            self._check.cancel()
            self._check = None


class Worker:
    """Runs one source's calls, on a shared :class:`Pool` until one is slow, then on its own."""

    def __init__(self, name: str, pool: Pool | None = None) -> None:
        self.name = name
        self._pool = pool
        self._own: Pool | None = None
        self._job: Job | None = None

    @property
    def busy(self) -> bool:
        """True from a submit until that call has returned, even if its caller stopped waiting."""
        return self._job is not None and self._job.running

    def submit(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Schedule ``fn``; the returned future may be cancelled without harm."""
        if self._pool is None:
            if self._own is None:
                self._own = Pool(owner=self.name)  # one thread, never shared, never evicted
            self._job = self._own.submit(self.name, fn)
        else:
            self._job = self._pool.submit(self.name, fn, on_evict=self._go_alone)
        return self._job.future

    def _go_alone(self) -> None:
        self._pool = None

    def timed_out(self) -> None:
        """The current call overran its timeout: off the shared thread with it, if it is on one.

        On a thread of its own it simply keeps it busy; the scheduler skips its ticks meanwhile.
        """
        job = self._job
        if self._pool is not None and job is not None and job.running:
            self._pool.timed_out(job)

    def stop(self) -> None:
        """Let this source's own thread end after its current call (a hung one is abandoned)."""
        if self._own is not None:
            self._own.stop()
            self._own = None
