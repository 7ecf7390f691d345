from __future__ import annotations

import gzip
import json

import pytest

from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.deliver.batch import Batcher
from hostpulse.agent.deliver.sender import Outcome, Sender, parse_retry_after
from hostpulse.agent.secret import Secret
from hostpulse.backoff import Backoff
from tests.agent.sink import Sink


def batch(n: int = 3, host: str = "web-1"):
    batcher = Batcher(host, max_samples=10_000, max_age=60)
    batcher.add([CheckedSample("test.x", (("i", "1"),), "n", 1_000 * ts, float(ts)) for ts in range(n)])
    return batcher.seal()


async def test_a_batch_is_posted_gzipped_with_the_bearer_token(sink: Sink):
    sender = Sender(sink.url, Secret(sink.token))
    sent = batch()
    result = await sender.post(sent)
    await sender.aclose()
    assert result.outcome is Outcome.OK and result.status == 200 and not result.duplicate
    request = sink.requests[0]
    assert request.path == "/api/v1/ingest"
    assert request.headers["Authorization"] == f"Bearer {sink.token}"
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.headers["Content-Type"] == "application/json"
    assert request.payload == json.loads(gzip.decompress(sent.body))
    assert request.payload["batch_id"] == sent.batch_id


async def test_resending_the_same_batch_is_a_duplicate_for_the_hub(sink: Sink):
    sender = Sender(sink.url, Secret(sink.token))
    sent = batch()
    first, second = await sender.post(sent), await sender.post(sent)
    await sender.aclose()
    assert (first.outcome, first.duplicate) == (Outcome.OK, False)
    assert (second.outcome, second.duplicate) == (Outcome.OK, True)
    assert len(sink.samples()) == 3


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, Outcome.REJECTED), (413, Outcome.REJECTED), (422, Outcome.REJECTED),
     (408, Outcome.RETRY), (429, Outcome.RETRY), (500, Outcome.RETRY), (503, Outcome.RETRY),
     (401, Outcome.REJECTED), (403, Outcome.REJECTED), (404, Outcome.RETRY), (405, Outcome.RETRY)],
)
async def test_what_each_answer_means(sink: Sink, status, outcome):
    sink.script.append((status, {"Retry-After": "7"}, {"error": {"code": "c", "message": "why"}}))
    sender = Sender(sink.url, Secret(sink.token))
    result = await sender.post(batch())
    await sender.aclose()
    assert result.outcome is outcome and result.status == status
    assert "c: why" in result.reason
    if outcome is Outcome.RETRY:
        assert result.retry_after == 7.0


async def test_no_hub_at_all_is_a_retry():
    free = Sink().start()
    url = free.url
    free.stop()
    sender = Sender(url, Secret("t"))
    result = await sender.post(batch())
    await sender.aclose()
    assert result.outcome is Outcome.RETRY and result.status is None and "Connect" in result.reason


def test_retry_after_as_seconds_or_http_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("junk") is None and parse_retry_after(None) is None
    assert parse_retry_after("99999") == 600.0


def test_backoff_grows_has_jitter_is_capped_and_yields_to_retry_after():
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.next() for _ in range(6)]
    steps = [1, 2, 4, 8, 8, 8]
    assert all(step / 2 <= d <= step for d, step in zip(delays, steps, strict=True))
    assert backoff.next(retry_after=30.0) == 30.0
    backoff.reset()
    assert backoff.next() <= 1.0


def test_the_token_never_shows_in_a_repr():
    secret = Secret("s3cr3t-value")
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in str(secret) and "s3cr3t" not in f"{secret}"
    assert "s3cr3t" not in repr(Sender("http://127.0.0.1:1", secret))
