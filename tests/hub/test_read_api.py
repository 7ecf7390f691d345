"""The read API's answers, from a real hub holding real data, match the models /openapi.json
declares for them (hub/api/schemas.py; the models forbid keys they do not name)."""

from __future__ import annotations

import httpx
import pytest

from hostpulse.hub.api.schemas import AnomalyList, HostList, Points, SeriesList
from tests.hub.test_anomalies_api import wave
from tests.support.hub_process import LiveHub, now_ms, start_hub

READ_ROUTES = {
    "/api/v1/hosts": HostList,
    "/api/v1/series": SeriesList,
    "/api/v1/series/{series_id}/points": Points,
    "/api/v1/anomalies": AnomalyList,
}


@pytest.fixture
def seeded(live_hub: LiveHub) -> LiveHub:
    """Five minutes of a quiet series then a spike (one anomaly); another host seen with a Date."""
    start = now_ms() - 400_000
    ts, values = wave(start, 300)
    series = {"metric": "demo.spikes", "labels": {"k": "v"}, "unit": "%"}
    assert live_hub.post_batch("web-1", [{**series, "ts": ts, "values": values}]).status_code == 200
    spike = [{**series, "ts": [ts[-1] + 1000], "values": [90.0]}]
    assert live_hub.post_batch("web-1", spike).status_code == 200
    other = httpx.post(
        f"{live_hub.url}/api/v1/ingest",
        json={"version": 1, "batch_id": "b1", "host": "web-2",
              "series": [{"metric": "cpu.percent", "ts": [now_ms()], "values": [1.0]}]},
        headers={"Authorization": f"Bearer {live_hub.token('web-2')}",
                 "Date": "Tue, 01 Jan 2030 00:00:00 GMT"},
    )
    assert other.status_code == 200, other.text
    live_hub.token("never-seen")
    return live_hub


def test_every_answer_matches_its_declared_model(seeded: LiveHub) -> None:
    hosts = HostList.model_validate(seeded.get("/api/v1/hosts").json())
    by_name = {h.name: h for h in hosts.hosts}
    assert sorted(by_name) == ["never-seen", "web-1", "web-2"]
    assert by_name["web-2"].clock_offset_s is not None and by_name["web-2"].clock_offset_s > 86400
    assert by_name["web-1"].clock_offset_s is None  # post_batch sends no Date header
    assert by_name["never-seen"].last_seen is None and by_name["never-seen"].online is False

    listed = SeriesList.model_validate(seeded.get("/api/v1/series", host="web-1").json())
    [series] = listed.series
    assert (series.metric, series.labels, series.unit) == ("demo.spikes", {"k": "v"}, "%")

    raw = Points.model_validate(seeded.get(f"/api/v1/series/{series.id}/points", **{
        "from": now_ms() - 600_000, "max_points": 1000}).json())
    assert raw.tier == "raw" and len(raw.points) == 301
    assert {len(p) for p in raw.points} == {2}
    buckets = Points.model_validate(seeded.get(f"/api/v1/series/{series.id}/points", **{
        "from": now_ms() - 600_000, "max_points": 10}).json())
    assert 0 < len(buckets.points) <= 10 and {len(p) for p in buckets.points} == {4}

    anomalies = AnomalyList.model_validate(seeded.get("/api/v1/anomalies", host="web-1").json())
    assert [a.value for a in anomalies.anomalies] == [90.0]


def test_the_host_list_gives_the_dashboard_the_hubs_online_and_stale_windows(tmp_path) -> None:
    hub = start_hub(tmp_path / "hub", env={
        "HOSTPULSE_ONLINE_WINDOW_S": "2", "HOSTPULSE_STALE_WINDOW_S": "7.5"})
    try:
        assert hub.post_batch("web-1", [{"metric": "m", "ts": [now_ms()], "values": [1.0]}]).status_code == 200
        answer = HostList.model_validate(hub.get("/api/v1/hosts").json())
        assert (answer.online_window_s, answer.stale_window_s) == (2.0, 7.5)
        assert [h.online for h in answer.hosts] == [True]
    finally:
        hub.stop()


def test_openapi_declares_each_read_answer_and_its_errors(seeded: LiveHub) -> None:
    paths = seeded.get("/openapi.json").json()["paths"]
    for path, model in READ_ROUTES.items():
        responses = paths[path]["get"]["responses"]
        schema = responses["200"]["content"]["application/json"]["schema"]
        assert schema["title"] == model.__name__, path
        assert schema.get("additionalProperties") is False, path
        for status in ("401", "503"):
            error = responses[status]["content"]["application/json"]["schema"]
            assert error["title"] == "ErrorResponse", (path, status)
    assert "404" in paths["/api/v1/series/{series_id}/points"]["get"]["responses"]
    ingest = paths["/api/v1/ingest"]["post"]["responses"]
    assert sorted(ingest) == ["200", "400", "401", "403", "413", "415", "429", "503"]
