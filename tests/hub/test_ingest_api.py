"""POST /api/v1/ingest against a real hub process: what is stored, and every refusal's shape."""

from __future__ import annotations

import gzip
import json
import random

import httpx
import pytest

from tests.support.hub_process import LiveHub, make_batch, now_ms


def cpu_series(values: list[float], start: int | None = None) -> list[dict]:
    start = start or now_ms() - 60_000
    return [{"metric": "cpu.percent", "labels": {"cpu": "total"}, "unit": "%",
             "ts": [start + i * 1000 for i in range(len(values))], "values": values}]


def stored_points(hub: LiveHub, host: str, metric: str = "cpu.percent") -> list[list[float]]:
    series = hub.get("/api/v1/series", host=host, metric=metric).json()["series"]
    assert len(series) == 1
    return hub.get(f"/api/v1/series/{series[0]['id']}/points").json()["points"]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_batch_is_stored_and_read_back(live_hub: LiveHub) -> None:
    start = now_ms() - 10_000
    response = live_hub.post_batch("web-1", cpu_series([1.5, 2.5, 99.0], start), compress=True)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 3 and response.json()["duplicate"] is False
    assert stored_points(live_hub, "web-1") == [[start, 1.5], [start + 1000, 2.5], [start + 2000, 99.0]]
    hosts = live_hub.get("/api/v1/hosts").json()["hosts"]
    assert [(h["name"], h["online"], h["agent_version"]) for h in hosts] == [("web-1", True, "test")]


def test_retried_batch_is_stored_once(live_hub: LiveHub) -> None:
    series = cpu_series([1.0, 2.0])
    first = live_hub.post_batch("web-1", series, batch_id="batch-42")
    again = live_hub.post_batch("web-1", series, batch_id="batch-42")
    assert first.json()["duplicate"] is False
    assert again.status_code == 200 and again.json() == {"batch_id": "batch-42", "accepted": 0, "duplicate": True}
    assert len(stored_points(live_hub, "web-1")) == 2


def test_missing_and_unknown_tokens_are_refused(live_hub: LiveHub) -> None:
    body = make_batch("web-1", cpu_series([1.0]))
    assert_error(httpx.post(f"{live_hub.url}/api/v1/ingest", json=body), 401, "missing_token")
    response = httpx.post(f"{live_hub.url}/api/v1/ingest", json=body, headers={"Authorization": "Bearer hp_nope"})
    assert_error(response, 401, "invalid_token")


def test_revoked_token_is_refused_at_once(live_hub: LiveHub) -> None:
    from tests.support.hub_process import run_cli

    token = live_hub.token("web-1")
    assert live_hub.post_batch("web-1", cpu_series([1.0]), token=token).status_code == 200
    run_cli("token", "revoke", "web-1", "--db", live_hub.db)
    assert_error(live_hub.post_batch("web-1", cpu_series([2.0]), token=token), 401, "invalid_token")


def test_token_of_another_host_is_forbidden(live_hub: LiveHub) -> None:
    response = live_hub.post_batch("web-2", cpu_series([1.0]), token=live_hub.token("web-1"))
    assert_error(response, 403, "host_mismatch")
    assert live_hub.get("/api/v1/series").json()["series"] == []


def post_raw(hub: LiveHub, body: bytes, **headers: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {hub.token('web-1')}", "Content-Type": "application/json", **headers}
    return httpx.post(f"{hub.url}/api/v1/ingest", content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "invalid_batch"),
        (json.dumps({"version": 1, "batch_id": "x", "host": "web-1"}).encode(), "invalid_batch"),
        (json.dumps(make_batch("web-1", [{"metric": "cpu.percent", "ts": [1, 2], "values": [1.0]}])).encode(),
         "invalid_batch"),
        (json.dumps(make_batch("web-1", [{"metric": "cpu.percent", "ts": ["a"], "values": [1.0]}])).encode(),
         "invalid_batch"),
        (json.dumps(make_batch("web-1", [{"metric": "CPU Percent!", "ts": [1], "values": [1.0]}])).encode(),
         "invalid_batch"),
        (b'{"version": 1, "batch_id": "x", "host": "web-1", "series": [{"metric": "a", "ts": [1], "values": [NaN]}]}',
         "invalid_batch"),
        (json.dumps({**make_batch("web-1", cpu_series([1.0])), "version": 2}).encode(), "unsupported_version"),
    ],
    ids=["syntax", "not-an-object", "no-series", "unequal-arrays", "string-ts", "bad-metric", "nan", "version-2"],
)
def test_malformed_batches_get_400_and_store_nothing(live_hub: LiveHub, body: bytes, code: str) -> None:
    assert_error(post_raw(live_hub, body), 400, code)
    assert live_hub.get("/api/v1/series").json()["series"] == []


def test_one_bad_series_rejects_the_whole_batch(live_hub: LiveHub) -> None:
    series = cpu_series([1.0]) + [{"metric": "mem.used", "ts": [now_ms()], "values": ["lots"]}]
    assert_error(live_hub.post_batch("web-1", series), 400, "invalid_batch")
    assert live_hub.get("/api/v1/series").json()["series"] == []


def test_timestamps_far_from_the_hub_clock_are_refused(live_hub: LiveHub) -> None:
    response = live_hub.post_batch("web-1", cpu_series([1.0], start=now_ms() + 86_400_000))
    assert_error(response, 400, "timestamp_out_of_range")


def test_non_json_body_is_415(live_hub: LiveHub) -> None:
    assert_error(post_raw(live_hub, b"a=1", **{"Content-Type": "text/plain"}), 415, "unsupported_media_type")


def test_broken_and_oversized_gzip(live_hub: LiveHub) -> None:
    assert_error(post_raw(live_hub, b"\x1f\x8b not gzip", **{"Content-Encoding": "gzip"}), 400, "bad_gzip")
    bomb = gzip.compress(b" " * (64 * 1024 * 1024))  # 64 MiB of spaces in ~64 KiB: over the 32 MiB limit
    assert_error(post_raw(live_hub, bomb, **{"Content-Encoding": "gzip"}), 413, "payload_too_large")
    assert live_hub.get("/healthz").status_code == 200


def test_unknown_series_is_404_in_the_error_shape(live_hub: LiveHub) -> None:
    assert_error(live_hub.get("/api/v1/series/999/points"), 404, "not_found")


def test_metrics_count_what_was_committed(live_hub: LiveHub) -> None:
    live_hub.post_batch("web-1", cpu_series([1.0, 2.0, 3.0]))
    text = live_hub.get("/metrics").text
    figures = dict(line.split(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert figures["hostpulse_ingest_samples_total"] == "3"
    assert figures["hostpulse_ingest_batches_total"] == "1"
    assert float(figures["hostpulse_commit_seconds_total"]) > 0
    for name in ("hostpulse_write_queue_depth", "hostpulse_compaction_lag_seconds", "hostpulse_websocket_clients"):
        assert float(figures[name]) >= 0


def test_oversized_plain_body_has_the_same_code_as_an_oversized_gzip_one(live_hub: LiveHub) -> None:
    assert_error(post_raw(live_hub, b" " * (33 * 1024 * 1024)), 413, "payload_too_large")


# Ingest decodes with msgspec structs (hub/api/wire.py's parse_batch) and falls back to the
# pydantic model for what they refuse; the answers must be the model's, body for body.
EDGE_BODIES = [
    b'{"version":1,"batch_id":"x","host":"web-1","series":[{"metric":"a\\n","ts":[1],"values":[1.0]}]}',
    b'{"version":1,"batch_id":"x\\n","host":"web-1","series":[{"metric":"a","ts":[1],"values":[1.0]}]}',
    b'{"version":2,"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1]}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[-0],"values":[1e400]}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1' + b"0" * 400 + b"]}]}",
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[9007199254740992],"values":[1]}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1],"unit":"\\udc00"}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1],"unit":"B\\u0000"}]}',
    b'{"version":1,"batch_id":"x","host":"h","agent":{"version":"1\\u0000"},"series":[{"metric":"a","ts":[1],"values":[1]}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1],"labels":{"k":"a","k":"b"}}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1],"labels":{"'
    + b"k" * 2000 + b'":"' + b"v" * 100 + b'"}}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1],"x":'
    + b"[" * 100_000 + b"]" * 100_000 + b"}]}",
    b'\xef\xbb\xbf{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1]}]}',
    b'{"version":1,"batch_id":"x","host":"h","series":[{"metric":"a","ts":[1],"values":[1]}]} ',
    b'{"version":1,"batch_id":"x","host":"h","agent":null,"series":[{"metric":"a","ts":[1],"values":[1]}]}',
]


def _answer(parse: object, body: bytes) -> object:
    from pydantic import ValidationError

    try:
        batch = parse(body)  # type: ignore[operator]
    except ValidationError as exc:  # what the answer names: the first five (hub/web/app.py)
        errors = exc.errors()[:5]
        return ("refused", [(e["type"], e["loc"], e["msg"], repr(e["input"])) for e in errors])
    agent = getattr(batch.agent, "version", None)
    series = [(s.metric, s.labels, s.unit, s.ts, s.values) for s in batch.series]
    return (batch.version, batch.batch_id, batch.host, agent, series)


def _same_answer(body: bytes) -> None:
    from hostpulse.hub.api.wire import IngestBatch, parse_batch

    assert _answer(parse_batch, body) == _answer(IngestBatch.model_validate_json, body), body[:200]


@pytest.mark.parametrize("body", EDGE_BODIES, ids=range(len(EDGE_BODIES)))
def test_the_fast_decoder_answers_as_the_model_on_edge_bodies(body: bytes) -> None:
    _same_answer(body)


def _odd_batch(rng: random.Random) -> bytes:
    """A valid batch with, now and then, one field just outside what the model accepts."""

    def pick(good: object, *odd: object) -> object:
        return rng.choice(odd) if rng.random() < 0.04 else good

    def text() -> str:
        chars = "aZ9_.:- é\x00\n\u2028\U0001f600"
        return "".join(rng.choice(chars) for _ in range(rng.randint(0, 6)))

    def number() -> object:
        good = rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-(2**60), 2**60), 0.1, -0.0])
        return pick(good, float("nan"), float("inf"), 2**1100, True, 1e308, "1")

    def series() -> dict[str, object]:
        n = rng.randint(1, 3)
        m = pick(n, 0, n + 1)
        out: dict[str, object] = {
            "metric": pick(rng.choice(["cpu.percent", "a.b_c", "x1"]), "A", "a.", "a\n", "m" * 201,
                           text()),
            "ts": [pick(rng.randint(0, 2**53 - 1), -1, 2**53, 2**63, True, 1.0, "1")
                   for _ in range(n)],
            "values": [number() for _ in range(m)],
        }
        if rng.random() < 0.7:
            out["labels"] = {pick(text(), "", "\x00", "k" * 2049): pick(text(), "\x00", "v" * 2049)
                             for _ in range(rng.randint(0, 3))}
        if rng.random() < 0.7:
            out["unit"] = pick(text(), "\x00", "u" * 33, 5)
        return out

    doc: dict[str, object] = {
        "version": pick(1, 2, 0, True, 1.0, "1"),
        "batch_id": pick(f"b-{rng.randrange(10**9)}", "", "x\n", "b" * 65, text()),
        "host": pick("web-1", "", "h" * 255, "h" * 256, "h\x00", text()),
        "series": pick([series() for _ in range(rng.randint(1, 3))], [], None),
    }
    if rng.random() < 0.5:
        doc["agent"] = pick({"version": text()}, {"version": "v" * 65}, {"version": "\x00"}, None)
    return json.dumps(doc).encode()


def test_the_fast_decoder_answers_as_the_model_on_generated_bodies() -> None:
    from hypothesis import given, settings

    from tests.hostile.test_wire import bodies

    rng = random.Random(17)
    for _ in range(5000):
        _same_answer(_odd_batch(rng))
    # and every kind of refusal test_wire.py throws at the hub
    given(body=bodies)(settings(max_examples=1500, deadline=None, database=None)(_same_answer))()


@pytest.mark.parametrize("piece", [1, 300])
def test_big_bodies_decoded_in_pieces_answer_as_the_model(
    monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    """A big body is decoded head first, then its series a piece at a time: every body made
    big here (the bound at 0) answers as the model, one series a piece or several."""
    from hostpulse.hub.api import wire

    monkeypatch.setattr(wire, "BIG_BODY_BYTES", 0)
    monkeypatch.setattr(wire, "PIECE_BYTES", piece)
    for body in EDGE_BODIES:
        _same_answer(body)
    rng = random.Random(18)
    for _ in range(2000):
        _same_answer(_odd_batch(rng))
