from __future__ import annotations

import asyncio
import json

from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.deliver.batch import Batch, Batcher
from hostpulse.agent.deliver.deadletter import DeadLetter
from hostpulse.agent.deliver.delivery import Delivery
from hostpulse.agent.deliver.sender import Sender
from hostpulse.agent.deliver.spool import MemorySpool
from hostpulse.agent.secret import Secret
from hostpulse.agent.stats import Stats
from hostpulse.backoff import Backoff
from tests.agent.sink import Sink


def batches(count: int, start: int = 0) -> list[Batch]:
    batcher = Batcher("web-1", max_samples=2, max_age=60)
    sealed = batcher.add([CheckedSample("test.seq", (), "", 1000 * i, float(i)) for i in range(start, start + 2 * count)])
    return sealed


def make(sink: Sink, tmp_path, *, url: str | None = None, spool_bytes: int = 10_000_000):
    stats = Stats()
    delivery = Delivery(
        Sender(url or sink.url, Secret(sink.token)), MemorySpool(spool_bytes, stats),
        DeadLetter(tmp_path / "dead.jsonl"), stats, backoff=Backoff(base=0.05, cap=0.2),
    )
    return delivery, stats


async def deliver_until(delivery: Delivery, done) -> None:
    task = asyncio.create_task(delivery.run())
    try:
        for _ in range(2000):
            if done():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("delivery did not finish")
    finally:
        task.cancel()
        await delivery.sender.aclose()


def seq(sink: Sink) -> list[float]:
    return [value for _, _, _, value in sink.samples()]


async def test_batches_arrive_in_order(sink: Sink, tmp_path):
    delivery, stats = make(sink, tmp_path)
    for b in batches(5):
        delivery.put(b)
    await deliver_until(delivery, lambda: stats.batches_sent == 5)
    assert seq(sink) == [float(i) for i in range(10)]
    assert stats.samples_sent == 10 and delivery.pending() == 0


async def test_a_busy_hub_is_retried_and_the_batch_kept(sink: Sink, tmp_path):
    sink.script.extend([(503, {"Retry-After": "0"}, {}), (429, {}, {}), (500, {}, {})])
    delivery, stats = make(sink, tmp_path)
    for b in batches(2):
        delivery.put(b)
    await deliver_until(delivery, lambda: stats.batches_sent == 2)
    assert seq(sink) == [0.0, 1.0, 2.0, 3.0]
    assert stats.send_failures == 3
    retried = [r.payload["batch_id"] for r in sink.requests]
    assert retried[:4] == [retried[0]] * 4  # the same batch, same id, until it got through


async def test_an_invalid_batch_goes_to_the_dead_letter_file_and_the_next_flows(sink: Sink, tmp_path):
    sink.script.append((400, {}, {"error": {"code": "malformed", "message": "values must be finite"}}))
    delivery, stats = make(sink, tmp_path)
    first, second = batches(2)
    delivery.put(first)
    delivery.put(second)
    await deliver_until(delivery, lambda: stats.batches_sent == 1)
    assert seq(sink) == [2.0, 3.0]
    (line,) = (tmp_path / "dead.jsonl").read_text().splitlines()
    dead = json.loads(line)
    assert dead["batch_id"] == first.batch_id and dead["status"] == 400
    assert "malformed: values must be finite" in dead["reason"]
    assert dead["batch"]["series"][0]["values"] == [0.0, 1.0]
    assert stats.dead_lettered == 1 and stats.dropped["dead_letter"] == 2


async def test_while_the_hub_is_away_batches_wait_then_arrive_once_in_order(sink: Sink, tmp_path):
    url = sink.url
    sink.stop()
    delivery, stats = make(sink, tmp_path, url=url)
    task = asyncio.create_task(delivery.run())
    for b in batches(3):
        delivery.put(b)
    while stats.send_failures < 3:
        await asyncio.sleep(0.01)
    for b in batches(2, start=6):  # collected during the outage
        delivery.put(b)
    assert delivery.down and len(delivery.spool) == 5
    sink.start()
    try:
        while stats.batches_sent < 5:
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        await delivery.sender.aclose()
    assert seq(sink) == [float(i) for i in range(10)]
    assert not delivery.down and len(delivery.spool) == 0


async def test_a_full_spool_drops_the_oldest_and_counts_it(sink: Sink, tmp_path):
    made = batches(6)
    size = len(made[0].body)
    stats = Stats()
    spool = MemorySpool(int(size * 3.5), stats)
    for b in made:
        spool.append(b)
    assert len(spool) == 3 and stats.dropped["spool_full"] == 6
    assert spool.peek() is made[3]


async def test_drain_sends_what_is_in_memory(sink: Sink, tmp_path):
    delivery, _ = make(sink, tmp_path)
    for b in batches(2):
        delivery.put(b)
    await delivery.drain(5.0)
    await delivery.sender.aclose()
    assert seq(sink) == [0.0, 1.0, 2.0, 3.0] and delivery.pending() == 0


async def test_retry_after_is_honoured_when_longer_than_the_backoff(sink: Sink, tmp_path, monkeypatch):
    sink.script.extend([(503, {"Retry-After": "7"}, {}), (429, {"Retry-After": "3"}, {})])
    delivery, stats = make(sink, tmp_path)
    waited: list[float] = []
    real_sleep = asyncio.sleep

    async def no_wait(seconds: float) -> None:  # asyncio.sleep everywhere: record, barely wait
        waited.append(seconds)
        await real_sleep(0.001)

    monkeypatch.setattr("hostpulse.agent.deliver.delivery.asyncio.sleep", no_wait)
    delivery.put(batches(1)[0])
    await deliver_until(delivery, lambda: stats.batches_sent == 1)
    assert [w for w in waited if w > 0.01][:2] == [7.0, 3.0]


def test_without_a_usable_state_dir_the_spool_lives_in_memory(tmp_path, caplog):
    from hostpulse.agent.agent import open_spool
    from hostpulse.agent.config import AgentConfig
    from hostpulse.agent.deliver.diskspool import DiskSpool

    (tmp_path / "file").write_text("not a directory")
    assert isinstance(open_spool(AgentConfig(state_dir=tmp_path / "file"), Stats()), MemorySpool)
    assert "batches wait in memory only" in caplog.text
    assert isinstance(open_spool(AgentConfig(state_dir=tmp_path / "state"), Stats()), DiskSpool)


async def test_a_refused_token_dead_letters_the_batch_and_does_not_block_newer_ones(
    sink: Sink, tmp_path, caplog
):
    # 401 is refused for good (unknown or revoked token): kept in the dead-letter file with the
    # reason, logged with counts, and the batches behind it still go out once the hub takes them.
    delivery, stats = make(sink, tmp_path)
    first, second = batches(2)
    delivery.put(first)
    delivery.put(second)
    sink.script.append((401, {}, {"error": {"code": "invalid_token", "message": "unknown or revoked token"}}))
    await deliver_until(delivery, lambda: stats.batches_sent == 1)
    assert stats.dead_lettered == 1 and stats.refused == {"invalid_token": 1} and delivery.pending() == 0
    [line] = (tmp_path / "dead.jsonl").read_text().splitlines()
    assert json.loads(line)["reason"] == "401 invalid_token: unknown or revoked token"
    assert "hub refused 1 batch(es) (2 samples) for good" in caplog.text
    assert "1 invalid_token: 401 invalid_token: unknown or revoked token" in caplog.text


async def test_a_wrong_url_keeps_the_batches_and_says_what_to_check(sink: Sink, tmp_path, caplog):
    delivery, stats = make(sink, tmp_path)
    delivery.put(batches(1)[0])
    sink.script.extend([(404, {}, {"error": {"code": "not_found", "message": "no such route"}})] * 50)
    task = asyncio.create_task(delivery.run())
    while stats.send_failures < 2:
        await asyncio.sleep(0.01)
    task.cancel()
    await delivery.sender.aclose()
    assert len(delivery.spool) == 1 and stats.dead_lettered == 0
    assert "does not answer as a hub's ingest (404 not_found: no such route): check the hub URL" in caplog.text
