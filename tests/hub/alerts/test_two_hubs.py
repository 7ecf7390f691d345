"""Two real hubs on one PostgreSQL database, a host's batches alternating between them (as behind a
load balancer): each sees part of the episode and judges it, yet the receiver gets one firing and
one resolved message."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.hub.alerts.receiver import Receiver
from tests.hub.alerts.test_served_hub import disk, wait_for, write_config
from tests.multihub.conftest import pg_url  # noqa: F401 - the fixture: a database of the test's own
from tests.support.hub_process import now_ms, start_hub


def test_two_hubs_notify_each_transition_once(
    tmp_path: Path,
    receiver: Receiver,
    pg_url: str,  # noqa: F811
) -> None:
    config = write_config(tmp_path / "hub.toml", receiver.port)
    a = start_hub(tmp_path / "a", db=pg_url, extra_args=("--config", str(config)))
    b = start_hub(tmp_path / "b", db=pg_url, extra_args=("--config", str(config)))
    b.tokens = a.tokens
    start = now_ms() - 20_000
    try:
        # a: pending at 0 and firing at 3 s; b: pending at 1.5 s and, by its own clock, firing at
        # 4.5 s -- already stored as firing, so b stays silent. Same for the resolve.
        for i, value in enumerate((97, 97, 98, 98, 40, 40)):
            hub = (a, b)[i % 2]
            assert hub.post_batch("web1", disk(value, start + i * 1_500)).status_code == 200
            time.sleep(0.5)  # each hub stores its pass before the other judges the next batch
        wait_for(lambda: len(receiver.bodies) >= 2)
        time.sleep(1.5)
    finally:
        a.stop()
        b.stop()
    statuses = [json.loads(body)["status"] for body, _ in receiver.bodies]
    assert statuses == ["firing", "resolved"]
    fired = json.loads(receiver.bodies[0][0])["alerts"][0]
    assert (fired["starts_at"], fired["value"]) == (start + 3_000, 98)
