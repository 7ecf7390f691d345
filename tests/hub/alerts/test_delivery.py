"""The webhook through a real HTTP receiver: body, signature, grouping, outage, hang."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import numpy as np
import pytest

from hostpulse.hub.alerts import store
from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.delivery import Delivery
from hostpulse.hub.alerts.evaluator import Evaluator, SeriesRef
from tests.hub.alerts.receiver import Receiver


def config(port: int, **rule: object):
    return parse_alerts(
        {
            "defaults": False,
            "rules": [
                {"name": "disk", "kind": "threshold", "metric": "disk.percent", "critical": 95,
                 "notify": ["ops"], **rule},
                {"name": "down", "kind": "host_down", "after": "5s", "notify": ["ops"]},
            ],
            "notifiers": [{"name": "ops", "kind": "webhook", "secret": "s3cret",
                           "url": f"http://127.0.0.1:{port}/hook"}],
        }
    )  # fmt: skip


async def until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def disk(ev: Evaluator, host: str, sid: int, at: int, value: float):
    ref = SeriesRef(sid, host, "disk.percent", {"mount": "/"})
    return ev.observe([ref], [np.array([at], np.int64)], [np.array([value])])


async def test_firing_then_resolved_body_and_signature(receiver: Receiver, db: str) -> None:
    alerts = config(receiver.port)
    ev, delivery = Evaluator(alerts.rules), Delivery(alerts, base_url="http://hub:8080")
    delivery.start()
    try:
        delivery.route(disk(ev, "web1", 1, 1_000, 97.5))
        await until(lambda: len(receiver.bodies) == 1)
        delivery.route(disk(ev, "web1", 1, 2_000, 50))
        await until(lambda: len(receiver.bodies) == 2)
    finally:
        await delivery.stop()
    (fired, headers), (resolved, _) = receiver.bodies
    assert headers["Content-Type"] == "application/json"
    expected = hmac.new(b"s3cret", fired, hashlib.sha256).hexdigest()
    assert headers["X-HostPulse-Signature"] == f"sha256={expected}"
    body = json.loads(fired)
    assert (body["version"], body["status"]) == (1, "firing")
    assert body["alerts"] == [
        {"rule": "disk", "kind": "threshold", "severity": "critical", "state": "firing",
         "host": "web1", "metric": "disk.percent", "labels": {"mount": "/"}, "value": 97.5,
         "starts_at": 1_000, "ends_at": None, "url": "http://hub:8080/#host=web1&at=1000"}
    ]  # fmt: skip
    body = json.loads(resolved)
    assert body["status"] == "resolved"
    assert (body["alerts"][0]["state"], body["alerts"][0]["ends_at"]) == ("resolved", 2_000)


async def test_twenty_hosts_down_in_one_tick_is_one_message(receiver: Receiver, db: str) -> None:
    alerts = config(receiver.port)
    ev, delivery = Evaluator(alerts.rules), Delivery(alerts)
    for i in range(20):
        disk(ev, f"web{i}", i, 0, 10)
    delivery.start()
    try:
        delivery.route(ev.tick(10_000))
        await until(lambda: len(receiver.bodies) == 1)
        await asyncio.sleep(0.3)
    finally:
        await delivery.stop()
    assert len(receiver.bodies) == 1
    alerts_sent = json.loads(receiver.bodies[0][0])["alerts"]
    assert sorted(a["host"] for a in alerts_sent) == sorted(f"web{i}" for i in range(20))
    assert {a["rule"] for a in alerts_sent} == {"down"}


async def test_receiver_down_then_back_gets_the_message_once(receiver: Receiver, db: str) -> None:
    alerts = config(receiver.port)
    receiver.down()
    ev, delivery = Evaluator(alerts.rules), Delivery(alerts, backoff_s=0.1)
    delivery.start()
    try:
        delivery.route(disk(ev, "web1", 1, 1_000, 99))
        await until(lambda: delivery.stats.failed_attempts >= 3)
        assert "ConnectError" in delivery.stats.last_error
        receiver.up()
        await until(lambda: delivery.stats.sent == 1)
        await asyncio.sleep(0.5)
    finally:
        await delivery.stop()
    assert len(receiver.bodies) == 1


async def test_a_hanging_receiver_is_timed_out_and_retried_without_stalling_the_loop(
    receiver: Receiver, db: str
) -> None:
    alerts = config(receiver.port)
    receiver.hang_s = 1.0
    ev, delivery = Evaluator(alerts.rules), Delivery(alerts, timeout_s=0.2, backoff_s=0.05)
    delivery.start()
    try:
        delivery.route(disk(ev, "web1", 1, 1_000, 99))
        ticks = 0
        while delivery.stats.failed_attempts < 2:  # the loop keeps turning while it hangs
            await asyncio.sleep(0.01)
            ticks += 1
        assert "Timeout" in delivery.stats.last_error
        assert ticks > 10
        receiver.hang_s = 0.0
        await until(lambda: delivery.stats.sent == 1)
    finally:
        await delivery.stop()


async def test_routes_send_critical_alerts_of_some_labels_to_another_notifier(
    receiver: Receiver, db: str
) -> None:
    pager = Receiver()
    pager.up()
    try:
        alerts = parse_alerts({
            "defaults": False,
            "rules": [{"name": "disk", "kind": "threshold", "metric": "disk.percent",
                       "warning": 80, "critical": 95, "notify": ["ops"]}],
            "notifiers": [{"name": "ops", "kind": "webhook", "url": f"http://127.0.0.1:{receiver.port}/"},
                          {"name": "pager", "kind": "webhook", "url": f"http://127.0.0.1:{pager.port}/"}],
            "routes": [{"severity": "critical", "labels": {"mount": "/"}, "notify": ["pager"]}],
        })  # fmt: skip
        ev, delivery = Evaluator(alerts.rules), Delivery(alerts)
        delivery.start()
        try:
            delivery.route(disk(ev, "web1", 1, 1_000, 85))  # warning: ops only
            await until(lambda: len(receiver.bodies) == 1)
            delivery.route(disk(ev, "web1", 1, 2_000, 97))  # critical: ops and pager
            await until(lambda: len(receiver.bodies) == 2 and len(pager.bodies) == 1)
            await asyncio.sleep(0.3)
        finally:
            await delivery.stop()
        assert len(pager.bodies) == 1
        assert json.loads(pager.bodies[0][0])["alerts"][0]["severity"] == "critical"
    finally:
        pager.down()


def test_a_route_naming_an_unknown_notifier_is_refused_with_the_key() -> None:
    with pytest.raises(Exception, match=r"alerts.routes\[0\].notify"):
        parse_alerts({"routes": [{"severity": "critical", "notify": ["nobody"]}]})
    with pytest.raises(Exception, match=r"alerts.routes\[0\].severity"):
        parse_alerts({"notifiers": [{"name": "n", "kind": "webhook", "url": "http://x/"}],
                      "routes": [{"severity": "fatal", "notify": ["n"]}]})  # fmt: skip


# The durability windows of docs/alerts.md ("What a crash can lose or send twice"), each through a
# real database and receiver; a "crash" is a Delivery dropped without stop(), a restart a fresh
# Evaluator and Delivery built from what the database holds, as AlertService.start does.


async def restarted(alerts) -> tuple[Evaluator, Delivery]:
    ev = Evaluator(alerts.rules)
    ev.restore(await store.load_active())
    return ev, Delivery(alerts)


async def test_a_crash_before_the_flush_loses_the_transition_the_next_sample_decides_it_again(
    receiver: Receiver, db: str
) -> None:
    alerts = config(receiver.port)
    ev, crashed = Evaluator(alerts.rules), Delivery(alerts)
    crashed.route(disk(ev, "web1", 1, 1_000, 97.5))  # firing, in memory only: the hub dies here
    ev, delivery = await restarted(alerts)
    assert ev.instances == {}  # nothing of it was stored
    delivery.start()
    try:
        delivery.route(disk(ev, "web1", 1, 2_000, 98))
        await until(lambda: len(receiver.bodies) == 1)
        await asyncio.sleep(0.5)
    finally:
        await delivery.stop()
    (fired,) = json.loads(receiver.bodies[0][0])["alerts"]
    assert (fired["starts_at"], fired["value"]) == (2_000, 98)  # from the sample after the crash


async def test_a_stop_stores_what_ingest_handed_over_and_the_restart_sends_it_once(
    receiver: Receiver, db: str
) -> None:
    alerts = config(receiver.port)
    ev, stopping = Evaluator(alerts.rules), Delivery(alerts)
    stopping.route(disk(ev, "web1", 1, 1_000, 97.5))
    await stopping.stop()  # SIGTERM: the buffer is written before the hub exits
    ev, delivery = await restarted(alerts)
    assert [i.state for i in ev.instances.values()] == ["firing"]
    delivery.start()
    try:
        assert disk(ev, "web1", 1, 2_000, 98) == []  # still firing: nothing new to send
        await until(lambda: len(receiver.bodies) == 1)
        await asyncio.sleep(0.5)
    finally:
        await delivery.stop()
    assert json.loads(receiver.bodies[0][0])["alerts"][0]["starts_at"] == 1_000


async def test_a_receiver_answering_after_the_timeout_gets_the_message_twice(
    receiver: Receiver, db: str
) -> None:
    """At least once at that edge: the hub cannot tell a late answer from no answer."""
    alerts = config(receiver.port)
    receiver.hang_s = 1.0  # takes the message, answers after the hub's 0.3 s timeout
    ev, delivery = Evaluator(alerts.rules), Delivery(alerts, timeout_s=0.3, backoff_s=0.05)
    delivery.start()
    try:
        delivery.route(disk(ev, "web1", 1, 1_000, 99))
        await until(lambda: len(receiver.bodies) == 1)
        assert delivery.stats.sent == 0 and delivery.stats.failed_attempts >= 1
        receiver.hang_s = 0.0
        await until(lambda: delivery.stats.sent == 1)
    finally:
        await delivery.stop()
    bodies = [json.loads(body)["alerts"] for body, _ in receiver.bodies]
    assert len(bodies) >= 2 and all(b == bodies[0] for b in bodies)
