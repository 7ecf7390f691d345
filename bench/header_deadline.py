"""What the request-head deadline (``header_timeout_s``) costs an ordinary request, side by side.

    .venv/bin/python bench/header_deadline.py               # 5 rounds of 300 + 300 requests a hub
    .venv/bin/python bench/header_deadline.py --rounds 9

Two ``hostpulse hub`` processes on SQLite run at once: one with the deadline as shipped
(``header_timeout_s`` 10) and one with it at 30 s, what the same Hypercorn timer was set to before
(``min(75, read_timeout_s)``), so that a trickled head was cut only after 30 s. Each round, in
alternating order, posts ``--requests`` one-point batches on one kept-alive connection and
makes as many ``GET /healthz`` on a new connection each, against each hub. Printed per hub: the
median over rounds of the client's median latency and of the hub's CPU (user + system) per
request, and the ratio of the two hubs. Timing on a shared 2-core machine is noisy: compare the
two hubs of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.hub_process import LiveHub, make_batch, now_ms, start_hub

HUBS = {"header_timeout_s 10": "10", "header_timeout_s 30 (before)": "30"}


def one_round(hub: LiveHub, requests: int) -> tuple[float, float]:
    """(median ms per request, hub CPU ms per request) over ``requests`` posts and as many
    new-connection /healthz."""
    process = psutil.Process(hub.process.pid)
    token = hub.token("bench")
    cpu = process.cpu_times()
    latencies: list[float] = []
    with httpx.Client(timeout=30) as client:
        for i in range(requests):
            body = make_batch("bench", [{"metric": "bench.value", "ts": [now_ms() - 1000 + i],
                                         "values": [float(i)]}])
            start = time.perf_counter()
            answer = client.post(f"{hub.url}/api/v1/ingest", json=body,
                                 headers={"Authorization": f"Bearer {token}"})
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text
    for _ in range(requests):
        start = time.perf_counter()
        with httpx.Client(timeout=30) as fresh:  # a new connection: a new head deadline each
            assert fresh.get(f"{hub.url}/healthz").status_code == 200
        latencies.append(time.perf_counter() - start)
    after = process.cpu_times()
    spent = (after.user - cpu.user) + (after.system - cpu.system)
    return statistics.median(latencies) * 1000, spent * 1000 / (2 * requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hp-header-bench-"))
    hubs = {name: start_hub(work / value, env={"HOSTPULSE_HEADER_TIMEOUT_S": value,
                                               "HOSTPULSE_RATE_LIMIT_PER_S": "0"})
            for name, value in HUBS.items()}
    try:
        for hub in hubs.values():  # the series exists before anything is timed
            one_round(hub, 5)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in hubs}
        for r in range(args.rounds):
            order = list(hubs) if r % 2 == 0 else list(reversed(hubs))
            for name in order:
                results[name].append(one_round(hubs[name], args.requests))
        medians = {name: (statistics.median(ms for ms, _ in rs), statistics.median(c for _, c in rs))
                   for name, rs in results.items()}
        for name, (ms, cpu) in medians.items():
            print(f"{name:30} median latency {ms:6.2f} ms   hub CPU {cpu:6.3f} ms/request")
        (new_ms, new_cpu), (old_ms, old_cpu) = medians.values()
        print(f"ratio (10 s / 30 s): latency {new_ms / old_ms:.2f}, hub CPU {new_cpu / old_cpu:.2f} "
              f"({args.rounds} rounds of {args.requests} posts + {args.requests} new connections)")
    finally:
        for hub in hubs.values():
            hub.stop()


if __name__ == "__main__":
    main()
