"""Alert history and delivered notifications go at ``retain_alerts_days``; what is still to be
sent, and the alerts' current states, stay."""

from __future__ import annotations

import numpy as np

from hostpulse.hub.alerts import store
from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.evaluator import Evaluator, SeriesRef
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.retention import DAY_MS, apply_retention

RULES = parse_alerts({"defaults": False, "rules": [
    {"name": "disk", "kind": "threshold", "metric": "disk.percent", "critical": 95},
]}).rules  # fmt: skip


async def counts() -> dict[str, int]:
    out = {}
    for table in ("alert_history", "alert_outbox", "alert_states"):
        rows = await store.conn().execute_query_dict(f'SELECT COUNT(*) AS n FROM "{table}"')
        out[table] = int(rows[0]["n"])
    return out


async def test_old_history_and_delivered_notifications_go_the_rest_stays(db: str) -> None:
    ev = Evaluator(RULES)
    ref = SeriesRef(1, "web1", "disk.percent", {})

    async def sample(at: int, value: float) -> None:
        moves = ev.observe([ref], [np.array([at], np.int64)], [np.array([value])])
        await store.flush(moves, {}, lambda t: ("ops",), "", at)

    # Day 0: fired (pending + firing), its message sent, then resolved: message still to send.
    await sample(0, 97)
    claimed = await store.claim(0, 10_000, 10)
    await store.mark_sent([c.id for c in claimed], 1)
    await sample(1_000, 40)
    # Day 5: fires again, its message not sent yet.
    await sample(5 * DAY_MS, 99)
    assert await counts() == {"alert_history": 5, "alert_outbox": 3, "alert_states": 1}

    deleted = await apply_retention(Settings(retain_alerts_days=3), 6 * DAY_MS)
    # The day-0 moves are older than 3 days; of their two messages only the sent one goes.
    assert (deleted["alert_history"], deleted["alert_outbox"]) == (3, 1)
    assert await counts() == {"alert_history": 2, "alert_outbox": 2, "alert_states": 1}
    left = await store.conn().execute_query_dict(
        'SELECT "status", "alert" FROM "alert_outbox" ORDER BY "id"'
    )
    assert [r["status"] for r in left] == ["pending", "pending"]
    assert [(a.state, a.starts_at) for a in await store.load_active()] == [("firing", 5 * DAY_MS)]
