"""A whole fleet down at once, round after round: grouped messages, and the hub's memory.

    .venv/bin/python bench/alert_memory.py [--hosts 1000] [--rounds 5]

Starts a real ``hostpulse hub`` with a ``host_down`` rule (``after = "15s"``) notifying a webhook
receiver on loopback. Each round, every host posts one sample stamped with the same time, then all
fall silent: the hub's timer finds the 1,000 of them down in the same tick, the outbox sends them
as grouped messages (at most 500 alerts each); then every host posts again and the same alerts
resolve. After each round (all resolved messages received, the outbox drained) it prints the
messages and alerts received, the outbox's pending rows and the hub's RSS. Flat memory means the
RSS stops moving after the first round, the one that creates the hosts and instances.
``--leave-cycles``: the hub without hub/web/cycles.py's workaround (the figures before it); the
hub runs as bench/ingest_memory.py starts it, in both variants.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from ingest_memory import DROP, HUB
from loadgen import create_tokens_inproc

from tests.hub.alerts.receiver import Receiver
from tests.support.hub_process import make_batch, now_ms, start_hub

CONFIG = """
[alerts]
defaults = false

[[alerts.rules]]
name = "host_down"
kind = "host_down"
after = "15s"
notify = ["ops"]

[[alerts.notifiers]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:{port}/hook"
"""


async def post_all(url: str, tokens: dict[str, str], at: int) -> None:
    """One sample from every host, all stamped ``at``, 50 requests in flight at a time."""
    gate = asyncio.Semaphore(50)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(host: str, token: str) -> None:
            body = make_batch(host, [{"metric": "cpu.percent", "labels": {}, "unit": "%",
                                      "ts": [at], "values": [5.0]}])  # fmt: skip
            async with gate:
                while True:  # a 503 (the writer's queue full) is retried, as the agent does
                    answer = await client.post(
                        f"{url}/api/v1/ingest", json=body,
                        headers={"Authorization": f"Bearer {token}"},
                    )  # fmt: skip
                    if answer.status_code != 503:
                        break
                    await asyncio.sleep(float(answer.headers.get("Retry-After", 1)))
            answer.raise_for_status()

        await asyncio.gather(*(one(h, t) for h, t in tokens.items()))


def wait(check, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--leave-cycles", action="store_true",
                    help="the hub without hub/web/cycles.py's workaround: the figures before it")  # fmt: skip
    args = ap.parse_args()
    receiver = Receiver()
    receiver.up()
    with tempfile.TemporaryDirectory(prefix="hp-alert-memory-") as tmp:
        config = Path(tmp) / "hub.toml"
        config.write_text(CONFIG.format(port=receiver.port))
        workdir = Path(tmp) / "hub"
        code = HUB.format(drop=str(workdir / DROP), thresholds=(), leave_cycles=args.leave_cycles)
        hub = start_hub(workdir, extra_args=("--config", str(config)),
                        command=[sys.executable, "-c", code])  # fmt: skip
        try:
            tokens = create_tokens_inproc(hub.db, [f"fleet-{i:04d}" for i in range(args.hosts)])
            proc = psutil.Process(hub.process.pid)
            print(f"{args.hosts} hosts, host_down after 15 s, "
                  f"{'without' if args.leave_cycles else 'with'} hub/web/cycles.py; hub RSS at "
                  f"start {proc.memory_info().rss / 2**20:.1f} MiB; load average "
                  f"{os.getloadavg()[0]:.1f}")  # fmt: skip

            def alerts(state: str, seen: int) -> int:
                return sum(
                    sum(a["state"] == state for a in json.loads(body)["alerts"])
                    for body, _ in receiver.bodies[seen:]
                )

            def outbox_pending() -> int:
                counts = httpx.get(f"{hub.url}/api/v1/alerts/delivery", timeout=30).json()
                return int(counts["pending"])

            for r in range(args.rounds):
                seen = len(receiver.bodies)
                asyncio.run(post_all(hub.url, tokens, now_ms() - 1000))
                wait(
                    lambda s=seen: alerts("firing", s) >= args.hosts, "the fleet's host_down alerts"
                )
                fired = len(receiver.bodies) - seen
                seen = len(receiver.bodies)
                asyncio.run(post_all(hub.url, tokens, now_ms() - 500))
                wait(lambda s=seen: alerts("resolved", s) >= args.hosts, "the resolved messages")
                resolved = len(receiver.bodies) - seen
                wait(lambda: outbox_pending() == 0, "the outbox to drain")
                time.sleep(1.0)  # the persister's and sender's last polls
                print(f"round {r + 1}: {args.hosts} host_down firing in {fired} messages, "
                      f"resolved in {resolved}; outbox pending {outbox_pending()}; hub RSS "
                      f"{proc.memory_info().rss / 2**20:.1f} MiB")  # fmt: skip
        finally:
            hub.stop()
            receiver.down()


if __name__ == "__main__":
    main()
