"""The ingest parser through HTTP: generated and hostile bodies get a 2xx or one-shaped 4xx, never 500."""

from __future__ import annotations

import json
import re

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms

HOST = "wire-host"
INT64 = 2**63 - 1


def post_raw(hub: LiveHub, body: bytes, host: str = HOST) -> httpx.Response:
    return httpx.post(
        f"{hub.url}/api/v1/ingest", content=body, timeout=30,
        headers={"Authorization": f"Bearer {hub.token(host)}", "Content-Type": "application/json"},
    )


def committed(hub: LiveHub) -> tuple[int, int]:
    """(batches, samples) the hub has committed since it started, from its /metrics."""
    text = hub.get("/metrics").text
    found = dict(
        re.findall(r"^(hostpulse_ingest_(?:batches|samples)_total) (\d+)$", text, re.MULTILINE)
    )
    return int(found["hostpulse_ingest_batches_total"]), int(found["hostpulse_ingest_samples_total"])


def series_count(hub: LiveHub, host: str = HOST) -> int:
    return len(hub.get("/api/v1/series", host=host).json()["series"])


def assert_error_shape(response: httpx.Response) -> None:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"]


# Any JSON at all, and batch-shaped objects with each field sometimes right, sometimes wrong.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-INT64 - 1, INT64) | st.floats(allow_nan=False,
    allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
metrics = st.sampled_from(["cpu.percent", "a.b_c.d", "x"]) | st.text(max_size=30)
# Timestamps anywhere in int64 (the wire model bounds them to 0..2**53-1), and near now.
timestamps = st.one_of(st.integers(-INT64 - 1, INT64), st.integers(-3_600_000, 3_600_000).map(
    lambda delta: now_ms() + delta))
series = st.fixed_dictionaries(
    {"metric": metrics, "ts": st.lists(timestamps, max_size=4) | json_values,
     "values": st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=4)
     | json_values},
    optional={"labels": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3)
              | json_values, "unit": st.text(max_size=40) | json_values},
)
batches = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 2, "1", None]),
     "batch_id": st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True) | st.text(max_size=70),
     "host": st.sampled_from([HOST, HOST, "other-host", ""]),
     "series": st.lists(series, max_size=4) | json_values},
    optional={"agent": st.fixed_dictionaries({"version": st.text(max_size=70)}) | json_values},
)
bodies = (batches | json_values).map(lambda doc: json.dumps(doc).encode()) | st.binary(max_size=64)


@scenario(
    done="hypothesis posted 150 generated bodies to /api/v1/ingest with a real token: any JSON, "
         "batch-shaped objects with fields right or wrong (version, batch_id, host, metric, labels, "
         "ts, values, unit), and raw bytes",
    checked="every answer is 200 or a 4xx in the one error shape, never 5xx; a 4xx commits no "
            "batch, no sample and no series (/metrics counters and /api/v1/series unchanged)",
)
@given(body=bodies)
@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_any_body_gets_a_2xx_or_a_clean_4xx_and_a_4xx_stores_nothing(hub: LiveHub, body: bytes) -> None:
    before, series_before = committed(hub), series_count(hub)
    response = post_raw(hub, body)
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
    if response.status_code == 200:
        answer = response.json()
        assert set(answer) == {"batch_id", "accepted", "duplicate"}
        return
    assert_error_shape(response)
    assert committed(hub) == before
    assert series_count(hub) == series_before


@scenario(
    done="posted batches whose ts is past the wire's bound: 2**53 (past JavaScript's exact "
         "integers), 2**63 and 2**70 (past int64)",
    checked="each answered 400 in the error shape (past int64 was a 500 until 47f311f); nothing "
            "stored",
)
def test_timestamp_beyond_int64_is_refused_with_400(hub: LiveHub) -> None:
    before = committed(hub)
    for ts in (2**53, 2**63, 2**70):
        body = {"version": 1, "batch_id": f"big-{ts}", "host": HOST,
                "series": [{"metric": "x.y", "ts": [ts], "values": [1.0]}]}
        response = post_raw(hub, json.dumps(body).encode())
        assert response.status_code == 400, response.text
        assert_error_shape(response)
    assert committed(hub) == before


@scenario(
    done="posted JSON nested 100,000 levels deep, as the whole body and inside an otherwise "
         "valid series",
    checked="400 malformed_json for both (the parser's recursion limit, no crash); the hub answers "
            "/healthz and still stores a valid batch afterwards",
)
def test_deeply_nested_json_is_refused_and_the_hub_stays_up(hub: LiveHub) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    valid_series = {"metric": "nest.ok", "ts": [now_ms()], "values": [1.0]}
    inside = json.dumps({"version": 1, "batch_id": "deep", "host": HOST,
                         "series": [{**valid_series, "extra": "@@"}]}).replace('"@@"', deep)
    for body in (deep, inside, '{"a":' * 100_000 + "1" + "}" * 100_000):
        response = post_raw(hub, body.encode())
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "malformed_json"
    assert hub.get("/healthz").status_code == 200
    ok = post_raw(hub, json.dumps({"version": 1, "batch_id": "after-deep", "host": HOST,
                                   "series": [valid_series]}).encode())
    assert ok.status_code == 200, ok.text

