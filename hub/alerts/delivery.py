"""Delivery: transitions grouped per notifier, sent with a timeout, retried with backoff.

Firing/resolved transitions of one evaluation pass that go to the same notifier leave as one
message (twenty hosts down in the same tick is one webhook, not twenty). A notifier that hangs is
cut at ``timeout_s`` and one that raises is retried with exponential backoff; sending runs in its
own task, so neither ever holds up ingest, which only appends to a bounded queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

from hostpulse.hub.alerts.config import AlertsConfig
from hostpulse.hub.alerts.states import FIRING, RESOLVED, Transition
from hostpulse.hub.alerts.webhook import send_webhook, webhook_body

log = logging.getLogger("hostpulse.alerts")

#: A message is at most this many alerts; a fleet going down becomes several messages.
MAX_ALERTS_PER_MESSAGE = 500
#: Retries wait 1, 2, 4 … s, capped here, and go on until the message is sent.
MAX_BACKOFF_S = 60.0


@dataclass(slots=True)
class Message:
    notifier: str
    transitions: list[Transition]
    attempts: int = 0
    not_before: float = 0.0
    last_error: str = ""


@dataclass(slots=True)
class DeliveryStats:
    sent: int = 0
    failed_attempts: int = 0
    pending: int = 0
    last_error: str = ""
    results: list[str] = field(default_factory=list)


Sender = Callable[[str, bytes], Awaitable[str]]


class Delivery:
    def __init__(
        self,
        config: AlertsConfig,
        *,
        base_url: str = "",
        timeout_s: float = 10.0,
        max_queue: int = 10_000,
        backoff_s: float = 1.0,
    ) -> None:
        self.config = config
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.stats = DeliveryStats()
        self._routes = {r.name: r.notify for r in config.rules}
        self._queue: asyncio.Queue[Message] = asyncio.Queue(max_queue)
        self._retry: list[Message] = []
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def route(self, transitions: Sequence[Transition]) -> int:
        """Queue the firing/resolved transitions for their rules' notifiers; returns messages queued.
        Pending moves are history only. A full queue drops the message and says so in the log."""
        per: dict[str, list[Transition]] = {}
        for t in transitions:
            if t.state not in (FIRING, RESOLVED):
                continue
            for name in self._routes.get(t.rule, ()):
                per.setdefault(name, []).append(t)
        queued = 0
        for name, group in per.items():
            for lo in range(0, len(group), MAX_ALERTS_PER_MESSAGE):
                try:
                    self._queue.put_nowait(Message(name, group[lo : lo + MAX_ALERTS_PER_MESSAGE]))
                    queued += 1
                except asyncio.QueueFull:
                    log.error("alert delivery queue full: a message to %s was dropped", name)
        self.stats.pending = self._queue.qsize() + len(self._retry)
        return queued

    def start(self) -> None:
        self._client = httpx.AsyncClient()
        self._task = asyncio.create_task(self._run(), name="alerts-delivery")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._client:
            await self._client.aclose()

    async def send(self, message: Message) -> str:
        """One attempt, bounded by the timeout whatever the notifier does."""
        notifier = self.config.notifiers[message.notifier]
        body = webhook_body(message.transitions, self.base_url)
        # config refuses the kinds not built yet (BUILT_NOTIFIER_KINDS): every notifier is a webhook
        assert self._client is not None
        return await asyncio.wait_for(
            send_webhook(notifier, body, self._client, self.timeout_s), self.timeout_s
        )

    async def _run(self) -> None:
        while True:
            now = time.monotonic()
            due = [m for m in self._retry if m.not_before <= now]
            self._retry = [m for m in self._retry if m.not_before > now]
            if not due:
                wait = min((m.not_before for m in self._retry), default=now + 1.0) - now
                try:
                    due = [await asyncio.wait_for(self._queue.get(), max(0.01, wait))]
                except TimeoutError:
                    continue
            for message in due:
                await self._attempt(message)
            self.stats.pending = self._queue.qsize() + len(self._retry)

    async def _attempt(self, message: Message) -> None:
        message.attempts += 1
        try:
            result = await self.send(message)
        except Exception as exc:  # noqa: BLE001 - hang (timeout), refusal, 5xx: all retried alike
            message.last_error = f"{type(exc).__name__}: {exc}"
            self.stats.failed_attempts += 1
            self.stats.last_error = message.last_error
            delay = min(self.backoff_s * 2 ** (message.attempts - 1), MAX_BACKOFF_S)
            message.not_before = time.monotonic() + delay
            self._retry.append(message)
            log.warning("alert to %s failed (%s); retry in %.0f s", message.notifier, exc, delay)
            return
        self.stats.sent += 1
        self.stats.results.append(result)
        del self.stats.results[:-100]
