"""A spool holding an earlier identity's batches (host renamed, another agent's spool) must not
block the current host: refused for good, they go to the dead-letter file with the reason."""

from __future__ import annotations

import json
from pathlib import Path

from hostpulse.agent.collect.point import Point
from hostpulse.agent.deliver.batch import Batch, Batcher
from hostpulse.agent.deliver.deadletter import DeadLetter
from hostpulse.agent.deliver.delivery import Delivery
from hostpulse.agent.deliver.sender import Backoff, Sender
from hostpulse.agent.deliver.spool import MemorySpool
from hostpulse.agent.secret import Secret
from hostpulse.agent.stats import Stats
from tests.agent.sink import Sink
from tests.agent.test_delivery import deliver_until


def _batches(host: str, count: int) -> list[Batch]:
    points = [Point("test.seq", (), "", 1000 * i, float(i)) for i in range(2 * count)]
    return Batcher(host, max_samples=2, max_age=60).add(points)


async def test_old_hosts_batches_are_dead_lettered_and_the_new_host_delivers(
    sink: Sink, tmp_path: Path
) -> None:
    stats = Stats()
    delivery = Delivery(
        Sender(sink.url, Secret(sink.token)), MemorySpool(10_000_000, stats),
        DeadLetter(tmp_path / "dead.jsonl"), stats, backoff=Backoff(base=0.05, cap=0.2), host="b",
    )
    delivery.down = True  # the spool holds host a's batches from before the rename
    for batch in _batches("a", 3):
        delivery.put(batch)
    for batch in _batches("b", 2):
        delivery.put(batch)
    # the hub answers as a real one does for a's batches under b's token
    mismatch = {"error": {"code": "host_mismatch", "message": "token is for host 'b'"}}
    sink.script.extend([(403, {}, mismatch)] * 3)
    await deliver_until(delivery, lambda: stats.batches_sent == 2)
    assert stats.dead_lettered == 3 and delivery.pending() == 0
    lines = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    assert all("collected as host 'a', this agent is 'b'" in json.dumps(line) for line in lines)


async def test_a_refusal_of_the_current_host_is_still_retried(sink: Sink, tmp_path: Path) -> None:
    # A wrong token for this very host may be fixed by the admin: the batch is kept, not dropped.
    stats = Stats()
    delivery = Delivery(
        Sender(sink.url, Secret(sink.token)), MemorySpool(10_000_000, stats),
        DeadLetter(tmp_path / "dead.jsonl"), stats, backoff=Backoff(base=0.05, cap=0.2), host="b",
    )
    for batch in _batches("b", 1):
        delivery.put(batch)
    sink.script.extend([(401, {}, {"error": {"code": "unauthorized", "message": "bad token"}})])
    await deliver_until(delivery, lambda: stats.batches_sent == 1)
    assert stats.dead_lettered == 0 and stats.send_failures == 1
