"""Detector state follows a host that moves to another hub: hub B resumes from what hub A saved
in the shared PostgreSQL, so B flags a spike at once instead of spending its warm-up learning."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hub.test_anomalies_api import wave
from tests.hub.test_detector_state import SERIES, spike_flagged
from tests.support.hub_process import now_ms, start_hub

pytestmark = pytest.mark.postgres


def test_a_moved_host_keeps_its_detector_state(tmp_path: Path, pg_url: str) -> None:
    env = {"HOSTPULSE_DETECTOR_SAVE_S": "0.5"}
    a = start_hub(tmp_path / "a", db=pg_url, env=env)
    try:
        b = start_hub(tmp_path / "b", db=pg_url, env=env)
        b.tokens = a.tokens
        try:
            ts, values = wave(now_ms() - 600_000, 300)
            assert a.post_batch("web-1", [{**SERIES, "ts": ts, "values": values}]).status_code == 200
            time.sleep(2)  # a few of A's periodic saves; A keeps running: the host simply moved
            assert spike_flagged(b, ts[-1] + 1000)
        finally:
            b.stop()
    finally:
        a.stop()
