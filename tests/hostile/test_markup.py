"""HTML and script in host names, labels and units are data: stored and returned verbatim as JSON.

How the dashboard renders them (as text) is the browser tests' business (tests/browser/)."""

from __future__ import annotations

import asyncio
import json

from tests.hub.test_stream import subscribe
from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms

HOST = "<script>alert('host')</script>&amp;\"'"
LABEL_KEY = "<b onmouseover=alert(1)>k</b>"
LABEL_VALUE = "<img src=x onerror=alert('label')>\u202e</textarea>"
UNIT = "<svg/onload=alert(1)>"


@scenario(
    done="created a token for a host named with <script>, quotes and an entity; posted a series "
         "whose label key, label value (with a bidi override) and unit hold HTML, with a "
         "WebSocket subscribed; posted a metric name holding HTML",
    checked="/api/v1/hosts, /api/v1/series and the live points frame return each string exactly "
            "as sent, as application/json with nosniff; the HTML metric name is refused 400 "
            "invalid_batch (metric names are dotted lowercase) and nothing of it is stored",
)
async def test_markup_is_stored_and_returned_verbatim(live_hub: LiveHub) -> None:
    ws = await subscribe(live_hub, hosts=["*"])
    try:
        series = [{"metric": "markup.value", "labels": {LABEL_KEY: LABEL_VALUE}, "unit": UNIT,
                   "ts": [now_ms()], "values": [1.0]}]
        response = await asyncio.to_thread(live_hub.post_batch, HOST, series)
        assert response.status_code == 200, response.text
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
    finally:
        await ws.close()
    assert frame["type"] == "points" and frame["host"] == HOST
    assert frame["series"][0]["labels"] == {LABEL_KEY: LABEL_VALUE}
    assert frame["series"][0]["unit"] == UNIT

    hosts = live_hub.get("/api/v1/hosts")
    assert hosts.headers["content-type"].startswith("application/json")
    assert hosts.headers["x-content-type-options"] == "nosniff"
    assert [h["name"] for h in hosts.json()["hosts"]] == [HOST]
    listed = live_hub.get("/api/v1/series", host=HOST)
    assert listed.headers["content-type"].startswith("application/json")
    [stored] = listed.json()["series"]
    assert (stored["host"], stored["labels"], stored["unit"]) == (HOST, {LABEL_KEY: LABEL_VALUE}, UNIT)

    refused = live_hub.post_batch(HOST, [{"metric": "<script>x</script>", "ts": [now_ms()],
                                          "values": [1.0]}])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_batch"
    assert [s["metric"] for s in live_hub.get("/api/v1/series", host=HOST).json()["series"]] == [
        "markup.value"]
