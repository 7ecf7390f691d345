"""The live bus's fan-out (hub/live/bus.py): what each session is given, and what it costs."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import pytest

from hostpulse.hub.live import bus as bus_module
from hostpulse.hub.live.bus import LocalBus, Subscription


def points(host: str, *metrics: str) -> dict[str, Any]:
    return {"type": "points", "host": host, "received_at": 1,
            "series": [{"id": i, "metric": m, "labels": {}, "unit": "", "points": [[1, 2.0]]}
                       for i, m in enumerate(metrics)]}


async def test_a_frame_is_encoded_once_per_distinct_subscription_not_per_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    encoded: list[dict[str, Any]] = []
    encode = bus_module.encode

    def counting(frame: dict[str, Any]) -> str:
        encoded.append(frame)
        return encode(frame)

    monkeypatch.setattr(bus_module, "encode", counting)
    bus = LocalBus()
    wanted = {"everything": (["*"], ["*"]), "cpu": (["*"], ["cpu.*"]),
              "all three": (["*"], ["cpu.*", "mem.*", "disk.*"]), "other host": (["web-2"], ["*"])}
    async with AsyncExitStack() as stack:
        subs: dict[str, list[Subscription]] = {}
        for name, (hosts, metrics) in wanted.items():
            subs[name] = []
            for _ in range(10):
                sub = await stack.enter_async_context(bus.subscribe())
                sub.subscribe(hosts, metrics)
                subs[name].append(sub)
        bus.publish(points("web-1", "cpu.percent", "mem.used", "disk.percent"))
        got = {name: [json.loads(s.queue.get_nowait()) for s in group if not s.queue.empty()]
               for name, group in subs.items()}
    # 40 sessions, two encodings: the whole frame (everything, and patterns that keep all of
    # it) and the cpu sessions' copy; the other host's sessions get nothing.
    assert [[s["metric"] for s in f["series"]] for f in encoded] in (
        [["cpu.percent", "mem.used", "disk.percent"], ["cpu.percent"]],
        [["cpu.percent"], ["cpu.percent", "mem.used", "disk.percent"]],
    )
    assert [len(got[n]) for n in wanted] == [10, 10, 10, 0]
    assert all(f == got["everything"][0] for n in ("everything", "all three") for f in got[n])
    assert all([s["metric"] for s in f["series"]] == ["cpu.percent"] for f in got["cpu"])
