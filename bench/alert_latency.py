"""Alerting through a served hub: sample -> webhook latency, and 1,000 alerts firing at once.

    .venv/bin/python bench/alert_latency.py [--episodes 30] [--fleet 1000] [--rounds 3]

Latency: a rule with ``for = "0s"`` and critical 95; per episode a new host posts disk 97 % and the
clock runs from the POST until the webhook receiver has the message (polled every 5 ms): the
ingest commit, the evaluation, the outbox write and the sender's claim. Fleet: one batch with
``--fleet`` disk series over 95 % -> that many alerts firing at once, then all resolved, for
``--rounds`` rounds; prints the messages each took and the hub's RSS around each round. Loopback only; bounded by the counts given.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.hub.alerts.receiver import Receiver
from tests.hub.alerts.test_served_hub import disk, write_config
from tests.support.hub_process import now_ms, start_hub


def wait(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("no webhook in time")
        time.sleep(0.005)


def fleet(n: int, at: int, value: float) -> list[dict[str, object]]:
    return [{"metric": "disk.percent", "labels": {"mount": f"/d{k}"}, "unit": "%",
             "ts": [at], "values": [value]} for k in range(n)]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=30)
    ap.add_argument("--fleet", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    receiver = Receiver()
    receiver.up()
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp) / "hub.toml", receiver.port)
        config.write_text(config.read_text().replace('for = "2s"', 'for = "0s"'))
        hub = start_hub(Path(tmp) / "hub", extra_args=("--config", str(config)))
        try:
            for i in range(args.episodes):  # tokens first: their CLI calls are not the latency
                hub.token(f"h{i}")
            hub.token("fleet")
            latencies = []
            for i in range(args.episodes):
                seen = len(receiver.bodies)
                start = time.perf_counter()
                assert hub.post_batch(f"h{i}", disk(97, now_ms() - 1000)).status_code == 200
                wait(lambda seen=seen: len(receiver.bodies) > seen)
                latencies.append(time.perf_counter() - start)
            latencies.sort()
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
            print(f"sample -> webhook over {args.episodes} episodes: median "
                  f"{statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                  f"max {latencies[-1] * 1000:.0f} ms (target p95 <= 1000 ms)")  # fmt: skip

            proc = psutil.Process(hub.process.pid)
            at = now_ms() - 60_000
            for r in range(args.rounds):  # the same fleet fires, then resolves, round after round
                rss_before = proc.memory_info().rss
                seen = len(receiver.bodies)
                start = time.perf_counter()
                assert hub.post_batch("fleet", fleet(args.fleet, at, 99.0)).status_code == 200

                def alerts_in(seen: int = seen) -> int:
                    return sum(len(json.loads(b)["alerts"]) for b, _ in receiver.bodies[seen:])

                wait(lambda: alerts_in() >= args.fleet, timeout=60)
                took = time.perf_counter() - start
                messages = len(receiver.bodies) - seen
                seen = len(receiver.bodies)
                assert (
                    hub.post_batch("fleet", fleet(args.fleet, at + 1000, 10.0)).status_code == 200
                )
                wait(lambda seen=seen: alerts_in(seen) >= args.fleet, timeout=60)
                at += 2000
                rss_after = proc.memory_info().rss
                print(f"round {r + 1}: {args.fleet} alerts firing at once arrived in {messages} "
                      f"messages within {took:.2f} s, resolved in {len(receiver.bodies) - seen}; "
                      f"hub RSS {rss_before / 2**20:.1f} -> {rss_after / 2**20:.1f} MiB")  # fmt: skip
        finally:
            hub.stop()
            receiver.down()


if __name__ == "__main__":
    main()
