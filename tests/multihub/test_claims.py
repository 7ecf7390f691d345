"""A batch_id reused while in flight on another hub of the same PostgreSQL changes nothing: the
request that creates series or changes a unit holds the batch_id across hubs until its commit
(hub/storage/commit_locks.py)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.support.hub_process import LiveHub, make_batch, now_ms

pytestmark = pytest.mark.postgres

POSTS = 30
ROUNDS = 3  # one round left a second hub's series in most runs before the lock; three in all


def one_point(metric: str, ts: int, unit: str = "") -> dict[str, Any]:
    return {"metric": metric, "unit": unit, "ts": [ts], "values": [float(ts % 1000)]}


async def reuse_across_hubs(a: LiveHub, b: LiveHub, host: str) -> None:
    """``POSTS`` requests of one batch_id at once, alternately to each hub, each giving another
    unit to a series the host has and a new series of its own: one content is stored, nothing
    of the others is created or changed."""
    t = now_ms() - 60_000
    assert a.post_batch(host, [one_point("c.unit", t, "B")]).status_code == 200
    batch_id, token = uuid.uuid4().hex, a.token(host)
    bodies = [make_batch(host, [one_point("c.unit", t + 1 + i, f"u{i}"),
                                one_point(f"c.new{i}", t + 1)], batch_id) for i in range(POSTS)]
    limits = httpx.Limits(max_connections=POSTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        answers = await asyncio.gather(*(
            client.post(f"{(a, b)[i % 2].url}/api/v1/ingest", json=body,
                        headers={"Authorization": f"Bearer {token}"})
            for i, body in enumerate(bodies)))
    assert [x.status_code for x in answers] == [200] * POSTS, [x.text for x in answers]
    (winner,) = [i for i, x in enumerate(answers) if not x.json()["duplicate"]]
    assert [x.json()["accepted"] for x in answers] == [2 if i == winner else 0 for i in range(POSTS)]
    stored = {s["metric"]: s for s in b.get("/api/v1/series", host=host).json()["series"]}
    assert {m: s["unit"] for m, s in stored.items()} == {"c.unit": f"u{winner}",
                                                          f"c.new{winner}": ""}
    points = b.get(f"/api/v1/series/{stored['c.unit']['id']}/points",
                   **{"from": t - 1, "to": t + POSTS + 1}).json()["points"]
    assert [p[0] for p in points] == [t, t + 1 + winner]


async def test_a_batch_id_reused_on_both_hubs_at_once_changes_nothing(
    hubs: tuple[LiveHub, LiveHub],
) -> None:
    a, b = hubs
    for round in range(ROUNDS):
        await reuse_across_hubs(a, b, f"reused-{round}")
