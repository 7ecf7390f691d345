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
    checked="every batch answered 200 and all series are listed by /api/v1/series (there is no "
            "per-host limit: see the next row); the other host's batches all answered 200; "
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
    checked="the batch that would pass 100 series is refused with a 4xx in the error shape and "
            "at most 100 series are stored (DESIGN.md §4 lists 'series per host' among the limits)",
)
def test_series_per_host_are_limited(tmp_path: Path) -> None:
    hub = start_hub(tmp_path / "hub", env={"HOSTPULSE_MAX_SERIES_PER_HOST": "100",
                                           "HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        answers = [hub.post_batch("noisy-host", exploding(b, 50)) for b in range(3)]
        assert [a.status_code for a in answers[:2]] == [200, 200]
        assert 400 <= answers[2].status_code < 500, answers[2].text
        assert set(answers[2].json()) == {"error"}
        assert len(hub.get("/api/v1/series", host="noisy-host").json()["series"]) <= 100
    finally:
        hub.stop()
