"""The alerts API of a served hub: alerts, rules, history, delivery status, silences."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import websockets

from hostpulse.hub.api.alerts import (
    AckList,
    AckOut,
    AlertList,
    DeliveryOut,
    HistoryList,
    RuleList,
    SilenceList,
)
from tests.hub.alerts.receiver import Receiver
from tests.hub.alerts.test_served_hub import disk, fire, stored, wait_for, write_config
from tests.support.hub_process import LiveHub, now_ms, start_hub


def test_alerts_rules_history_delivery_and_silences(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    api = f"{hub.url}/api/v1/alerts"
    try:
        rules = RuleList.model_validate(hub.get("/api/v1/alerts/rules").json()).rules
        assert [(r.name, r.critical, r.for_s, r.notify) for r in rules] == [
            ("disk_full", 95.0, 2.0, ["ops"])
        ]

        # a silence for web2 only, made through the API
        refused = httpx.post(f"{api}/silences", json={"host": "web2", "duration_s": 60},
                             headers={"Origin": "https://evil.example"})  # fmt: skip
        assert refused.status_code == 403
        bad = httpx.post(f"{api}/silences", json={"host": "web2"})
        assert bad.status_code == 400 and "duration_s" in bad.text
        made = httpx.post(f"{api}/silences", json={"host": "web2", "duration_s": 60,
                                                   "comment": "maintenance"})  # fmt: skip
        assert made.status_code == 201, made.text
        silence_id = made.json()["id"]
        assert (
            SilenceList.model_validate(hub.get("/api/v1/alerts/silences").json()).silences[0].id
            == silence_id
        )

        start = now_ms() - 20_000
        fire(hub, start, host="web1")
        fire(hub, start, host="web2")
        wait_for(lambda: len(receiver.bodies) == 1)
        wait_for(
            lambda: (
                sorted(stored(hub, "SELECT status FROM alert_outbox")) == [("sent",), ("silenced",)]
            )
        )
        time.sleep(0.5)
        assert len(receiver.bodies) == 1  # web2's is silenced
        assert '"web1"' in receiver.bodies[0][0].decode()

        alerts = AlertList.model_validate(hub.get("/api/v1/alerts").json()).alerts
        assert [(a.host, a.state, a.severity, a.value, a.silenced_by) for a in alerts] == [
            ("web1", "firing", "critical", 98.0, None),
            ("web2", "firing", "critical", 98.0, silence_id),
        ]
        assert hub.get("/api/v1/alerts", host="web2").json()["alerts"][0]["host"] == "web2"
        assert hub.get("/api/v1/alerts", severity="bogus").status_code == 400

        history = HistoryList.model_validate(hub.get("/api/v1/alerts/history", host="web1").json())
        assert [(h.previous, h.state) for h in history.history] == [
            ("pending", "firing"), ("inactive", "pending"),
        ]  # fmt: skip
        assert hub.get("/api/v1/alerts/history", limit=0).status_code == 400

        status = DeliveryOut.model_validate(hub.get("/api/v1/alerts/delivery").json())
        assert (status.pending, status.sent, status.silenced, status.failures) == (0, 1, 1, [])

        assert httpx.delete(f"{api}/silences/{silence_id}").status_code == 200
        assert httpx.delete(f"{api}/silences/{silence_id}").status_code == 404
        assert hub.get("/api/v1/alerts/silences").json() == {"silences": []}
    finally:
        hub.stop()


def test_failures_are_visible_in_the_api_and_metrics(tmp_path: Path, receiver: Receiver) -> None:
    receiver.down()
    config = write_config(tmp_path / "hub.toml", receiver.port)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        fire(hub, now_ms() - 20_000)
        wait_for(lambda: hub.get("/api/v1/alerts/delivery").json()["failing"] == 1)
        status = DeliveryOut.model_validate(hub.get("/api/v1/alerts/delivery").json())
        (failure,) = status.failures
        assert (failure.notifier, failure.rule, failure.host) == ("ops", "disk_full", "web1")
        assert "ConnectError" in failure.last_error and status.failed_attempts_total >= 1
        metrics = hub.get("/metrics").text
        assert "hostpulse_alert_notification_failures_total " in metrics
        line = next(
            x
            for x in metrics.splitlines()
            if x.startswith("hostpulse_alert_notification_failures_total ")
        )
        assert float(line.split()[1]) >= 1
    finally:
        hub.stop()


def repeats(receiver: Receiver) -> int:
    """Messages received after the first firing one (the repeats, and a resolved one if sent)."""
    return len(receiver.bodies) - 1


def test_an_ack_stops_repeats_until_it_ends(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port, extra='repeat = "1s"')
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    api = f"{hub.url}/api/v1/alerts"
    try:
        fire(hub, now_ms() - 20_000)
        wait_for(lambda: repeats(receiver) >= 1)  # the rule repeats every second
        (alert,) = AlertList.model_validate(hub.get("/api/v1/alerts").json()).alerts
        assert alert.acked_by is None and alert.series_id is not None
        which = {"rule": "disk_full", "host": "web1", "series_id": alert.series_id}
        refused = httpx.post(f"{api}/acks", json={**which, "comment": "x"},
                             headers={"Origin": "https://evil.example"})  # fmt: skip
        assert refused.status_code == 403
        missing = httpx.post(f"{api}/acks", json={**which, "host": "web9"})
        assert missing.status_code == 404 and "no firing alert" in missing.text
        past = httpx.post(f"{api}/acks", json={**which, "ends_at": 1})
        assert past.status_code == 400 and past.json()["error"]["code"] == "bad_ack"
        both = httpx.post(f"{api}/acks", json={**which, "ends_at": now_ms() + 9, "duration_s": 9})
        assert both.status_code == 400 and "not both" in both.text

        made = httpx.post(f"{api}/acks", json={**which, "comment": "on it"})
        assert made.status_code == 201, made.text
        ack = AckOut.model_validate(made.json())
        assert (ack.comment, ack.ends_at, ack.starts_at) == ("on it", None, alert.starts_at)
        assert AckList.model_validate(hub.get("/api/v1/alerts/acks").json()).acks == [ack]
        (alert,) = AlertList.model_validate(hub.get("/api/v1/alerts").json()).alerts
        assert alert.acked_by == ack.id

        time.sleep(1.5)  # a tick that read the acks before this one was stored may still repeat
        during = repeats(receiver)
        time.sleep(3.5)  # three repeat intervals
        assert repeats(receiver) == during  # acknowledged: no repeat

        assert httpx.delete(f"{api}/acks/{ack.id}").status_code == 200
        assert httpx.delete(f"{api}/acks/{ack.id}").status_code == 404
        assert httpx.delete(f"{api}/acks/-1").status_code == 404
        wait_for(lambda: repeats(receiver) > during)  # the ack ended: repeats resume
        assert hub.get("/api/v1/alerts/acks").json() == {"acks": []}
    finally:
        hub.stop()


async def alerts_frames(hub: LiveHub, receiver: Receiver) -> list[dict[str, Any]]:
    """Subscribed to another host's metric only: alerts frames come all the same."""
    async with websockets.connect(hub.ws_url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "hosts": ["web9"], "metrics": ["none"]}))
        while json.loads(await asyncio.wait_for(ws.recv(), 15))["type"] != "subscribed":
            pass
        start = now_ms() - 20_000
        # blocking posts off the loop, so the socket keeps reading meanwhile
        await asyncio.to_thread(fire, hub, start)
        await asyncio.to_thread(hub.post_batch, "web1", disk(40, start + 4_000))
        frames: list[dict[str, Any]] = []
        while not any(t["state"] == "resolved" for f in frames for t in f["transitions"]):
            frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if frame["type"] == "alerts":
                frames.append(frame)
        made = await asyncio.to_thread(
            httpx.post, f"{hub.url}/api/v1/alerts/silences", json={"host": "web1", "duration_s": 60}
        )
        assert made.status_code == 201
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 15)))["type"] != "alerts":
            pass
        return [*frames, frame]


def test_transitions_and_silences_reach_every_websocket_as_alerts_frames(
    tmp_path: Path, receiver: Receiver
) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    hub = start_hub(tmp_path / "hub", extra_args=("--config", str(config)))
    try:
        frames = asyncio.run(alerts_frames(hub, receiver))
    finally:
        hub.stop()
    *moves, changed = frames
    assert changed == {"type": "alerts", "transitions": [], "truncated": False,
                       "changed": "silences"}  # fmt: skip
    transitions = [t for f in moves for t in f["transitions"]]
    assert all(f["truncated"] is False for f in moves)
    assert [(t["previous"], t["state"]) for t in transitions] == [
        ("inactive", "pending"), ("pending", "firing"), ("firing", "resolved"),
    ]  # fmt: skip
    firing = transitions[1]
    assert set(firing) == {"rule", "kind", "host", "metric", "labels", "series_id", "previous",
                           "state", "severity", "value", "at", "starts_at", "ends_at"}  # fmt: skip
    assert (firing["rule"], firing["host"], firing["labels"], firing["severity"]) == (
        "disk_full", "web1", {"mount": "/"}, "critical",
    )  # fmt: skip
    assert isinstance(firing["series_id"], int) and firing["ends_at"] is None
    assert transitions[2]["ends_at"] is not None
