"""A label-cardinality explosion: one host inventing thousands of series."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms, start_hub

BATCHES = 3
SERIES_PER_BATCH = 1000


def exploding(batch: int, count: int) -> list[dict]:
    ts = now_ms()
    return [{"metric": "req.count", "labels": {"request_id": f"{batch}-{i}"}, "ts": [ts],
             "values": [float(i)]} for i in range(count)]


def steady(hub: LiveHub, stop: threading.Event, answers: list[int]) -> None:
    """A well-behaved host posting its one series every 0.2 s, as an agent would."""
    while not stop.is_set():
        answers.append(hub.post_batch("calm-host", [{"metric": "cpu.percent", "ts": [now_ms()],
                                                     "values": [1.0]}]).status_code)
        time.sleep(0.2)


@scenario(
    done=f"one host posted {BATCHES} batches of {SERIES_PER_BATCH} new series each (a label "
         "holding a request id) while another host posted its one series every 0.2 s",
    checked="every batch answered 200 and all series are listed by /api/v1/series (under the "
            "default max_series_per_host, 20,000); the other host's batches all answered 200; "
            "/healthz answers; the time per batch is printed (series are created one INSERT at a "
            "time under one hub-wide lock)",
)
def test_cardinality_explosion_is_stored_and_other_hosts_keep_flowing(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub", env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    stop, calm = threading.Event(), []
    thread = threading.Thread(target=steady, args=(hub, stop, calm))
    hub.token("calm-host")
    thread.start()
    try:
        for batch in range(BATCHES):
            started = time.perf_counter()
            response = hub.post_batch("noisy-host", exploding(batch, SERIES_PER_BATCH))
            print(f"batch of {SERIES_PER_BATCH} new series: {time.perf_counter() - started:.2f} s")
            assert response.status_code == 200, response.text
        stop.set()
        thread.join()
        assert len(hub.get("/api/v1/series", host="noisy-host").json()["series"]) == (
            BATCHES * SERIES_PER_BATCH)
        assert calm and set(calm) == {200}
        assert hub.get("/healthz").status_code == 200
    finally:
        stop.set()
        thread.join()
        hub.stop()


@scenario(
    done="a hub started with HOSTPULSE_MAX_SERIES_PER_HOST=100; one host posted 3 batches of 50 "
         "new series",
    checked="the batch that would pass 100 series is refused 400 series_limit_reached in the "
            "error shape; at most 100 series are stored; known series still get in",
)
def test_series_per_host_are_limited(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub", env={"HOSTPULSE_MAX_SERIES_PER_HOST": "100",
                                           "HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        answers = [hub.post_batch("noisy-host", exploding(b, 50)) for b in range(3)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        assert answers[2].status_code == 400, answers[2].text
        assert answers[2].json()["error"]["code"] == "series_limit_reached"
        assert len(hub.get("/api/v1/series", host="noisy-host").json()["series"]) <= 100
        assert hub.post_batch("noisy-host", exploding(0, 50)).status_code == 200
    finally:
        hub.stop()


@scenario(
    done="a hub started with HOSTPULSE_MAX_SERIES_PER_HOST=100; one host posted 60 new series, "
         "then a batch of 60 more",
    checked="the second batch is refused 400 series_limit_reached and leaves nothing behind: "
            "still 60 series listed, none of the refused batch's (DESIGN.md §4: a limit is a "
            "clear 4xx, nothing half-written)",
)
def test_a_batch_refused_by_the_series_limit_creates_no_series(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub", env={"HOSTPULSE_MAX_SERIES_PER_HOST": "100",
                                           "HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        assert hub.post_batch("noisy-host", exploding(0, 60)).status_code == 200
        refused = hub.post_batch("noisy-host", exploding(1, 60))
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "series_limit_reached"
        assert len(hub.get("/api/v1/series", host="noisy-host").json()["series"]) == 60
    finally:
        hub.stop()
