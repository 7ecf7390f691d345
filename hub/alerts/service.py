"""The hub's alerting: fed each committed batch, ticking host-down/absent rules, delivering."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from hostpulse.hub.alerts import store
from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.delivery import Delivery
from hostpulse.hub.alerts.evaluator import Evaluator, SeriesRef
from hostpulse.hub.alerts.states import Transition
from hostpulse.hub.storage.writer import PendingBatch

log = logging.getLogger("hostpulse.alerts")

#: Host-down and absent rules are judged this often; their limits are 30 s and up.
TICK_S = 1.0


class AlertService:
    def __init__(self, table: Mapping[str, Any], base_url: str = "") -> None:
        self.config = parse_alerts(table)
        self.evaluator = Evaluator(self.config.rules)
        self.delivery = Delivery(self.config, base_url=base_url, since=self._since)
        self._timer: asyncio.Task[None] | None = None

    def observe_batch(self, refs: Sequence[SeriesRef], batch: PendingBatch) -> None:
        """One committed batch (its series in block order) with the points its detector flagged."""
        transitions = self.evaluator.observe(
            refs,
            [b.ts for b in batch.blocks],
            [b.values for b in batch.blocks],
            [(a[0], a[1]) for a in batch.anomalies],
        )
        if transitions:
            self.delivery.route(transitions)

    def _since(self, t: Transition) -> int:
        inst = self.evaluator.instances.get((t.rule, t.host, t.series_id))
        return inst.since if inst else t.at

    async def start(self) -> None:
        """Take back the stored pending/firing instances first (a restart neither forgets nor
        re-sends them), and the hosts' last samples (one silent across the restart is down)."""
        self.evaluator.restore(await store.load_active())
        for host, last in (await store.host_last_seen()).items():
            self.evaluator.hosts.setdefault(host, (last, 0))
        self.delivery.start()
        self._timer = asyncio.create_task(self._tick(), name="alerts-timer")

    async def stop(self) -> None:
        if self._timer:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.delivery.stop()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = int(time.time() * 1000)
            transitions = self.evaluator.tick(now)
            if transitions:
                self.delivery.route(transitions)
            try:
                await self.delivery.repeat(self.evaluator.repeats(now))
            except Exception:
                log.exception("queueing repeated alerts failed: those repeats are skipped")
