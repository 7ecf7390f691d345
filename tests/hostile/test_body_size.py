"""100 MB request bodies: refused with 413 before they are buffered, and the hub carries on."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import psutil

from tests.hostile.test_wire import assert_error_shape
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms

MB = 1 << 20
BODY = 100 * MB
#: The hub's default max_body_bytes (hub/settings.py); memory may grow by about this, not by BODY.
LIMIT = 32 * MB


def _post(hub: LiveHub, content: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {hub.token('big-host')}",
               "Content-Type": "application/json", **headers}
    return httpx.post(f"{hub.url}/api/v1/ingest", content=content, headers=headers, timeout=120)


def _chunks() -> Iterator[bytes]:
    # No Content-Length: the hub cannot refuse up front and must stop reading at its limit.
    for _ in range(BODY // MB):
        yield b"[" * MB


@scenario(
    done="posted a 100 MB ingest body four ways: with Content-Length, chunked without a length, "
         "gzip-encoded and 100 MB compressed, and a 100 KB gzip inflating to 100 MB",
    checked="each answered 413 in the error shape; hub RSS grew by less than 64 MB over the four "
            "(the 32 MB body limit plus slack, never the body); /healthz answers and a normal "
            "batch is stored afterwards",
)
def test_hundred_megabyte_bodies_get_413_with_bounded_memory(live_hub: LiveHub) -> None:
    process = psutil.Process(live_hub.process.pid)
    rss_before = process.memory_info().rss
    compressed = gzip.compress(b" " * BODY, compresslevel=1)
    noise = bytes(range(256)) * (BODY // 256)  # incompressible: 100 MB even gzip-encoded
    attempts = [
        _post(live_hub, b"[" * BODY),
        _post(live_hub, _chunks()),
        _post(live_hub, noise, **{"Content-Encoding": "gzip"}),
        _post(live_hub, compressed, **{"Content-Encoding": "gzip"}),  # 100 KB inflating to 100 MB
    ]
    for response in attempts:
        assert response.status_code == 413, response.text[:300]
        assert_error_shape(response)
    growth = process.memory_info().rss - rss_before
    print(f"hub RSS growth over four 100 MB bodies: {growth / MB:.1f} MB")
    assert growth < 2 * LIMIT
    assert live_hub.get("/healthz").status_code == 200
    ok = live_hub.post_batch("big-host", [{"metric": "after.big", "ts": [now_ms()], "values": [1.0]}])
    assert ok.status_code == 200, ok.text
