"""Detector state survives a hub restart: a restarted hub flags a spike at once instead of
spending its warm-up learning the series again."""

from __future__ import annotations

from pathlib import Path

from tests.hub.test_anomalies_api import wave
from tests.support.hub_process import now_ms, start_hub

SERIES = {"metric": "demo.spikes", "labels": {}, "unit": ""}


def spike_flagged(hub, ts: int) -> bool:  # type: ignore[no-untyped-def]
    response = hub.post_batch("web-1", [{**SERIES, "ts": [ts], "values": [95.0]}])
    assert response.status_code == 200, response.text
    return bool(hub.get("/api/v1/anomalies", host="web-1", **{"from": ts, "to": ts}).json()["anomalies"])


def test_restarted_hub_resumes_detection(tmp_path: Path) -> None:
    start = now_ms() - 600_000
    ts, values = wave(start, 300)
    first = start_hub(tmp_path / "a")
    try:
        token = first.token("web-1")
        assert first.post_batch("web-1", [{**SERIES, "ts": ts, "values": values}]).status_code == 200
    finally:
        assert first.stop() == 0  # SIGTERM: the detectors' state is saved on the way out

    second = start_hub(tmp_path / "b", db=first.db)
    second.tokens["web-1"] = token
    try:
        assert spike_flagged(second, ts[-1] + 1000)
    finally:
        second.stop()


def test_a_fresh_hub_without_saved_state_stays_quiet(tmp_path: Path) -> None:
    # The control: the same spike after a few points only, on a hub that never saw the series.
    hub = start_hub(tmp_path)
    try:
        start = now_ms() - 60_000
        ts, values = wave(start, 5)
        assert hub.post_batch("web-1", [{**SERIES, "ts": ts, "values": values}]).status_code == 200
        assert not spike_flagged(hub, ts[-1] + 1000)
    finally:
        hub.stop()
