"""A fleet of simulated agents for benchmarks: real wire format, gzip, stable batch ids, Bearer tokens.

Each of N agents owns S series and posts a batch of K points per series, either every ``--interval``
seconds (a paced fleet, like real agents) or as soon as its previous batch is acknowledged
(``--interval 0``: a closed loop that finds the hub's ceiling). Bodies are built from byte templates
rendered once per agent with orjson on numpy arrays, so the generator spends its share of the
cores on HTTP, not on building JSON. A 503 or 429 is retried with the same batch id after
Retry-After, a transport error after a short pause, exactly as the agent does. It stops by itself
after ``--duration`` seconds, plus at most ``--drain`` seconds to finish batches in flight, and
prints a JSON summary.

    .venv/bin/python bench/loadgen.py --hub http://127.0.0.1:8700 --db sqlite://hub.sqlite3 \\
        --agents 50 --series 100 --points 50 --interval 0 --duration 20

Tokens are made with ``hostpulse token create`` against ``--db`` (or read from ``--tokens FILE``, a
JSON object host → token, which is also where newly made tokens are saved when given).
Only loopback hubs are accepted: this is a load generator.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import numpy as np
import orjson

HOSTPULSE = str(Path(sys.executable).with_name("hostpulse"))
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
NUMPY = orjson.OPT_SERIALIZE_NUMPY


@dataclass(slots=True)
class LoadConfig:
    hubs: list[str]
    agents: int = 50
    series: int = 100  #: series per agent
    points: int = 50  #: points per series per batch
    interval_s: float = (
        0.0  #: seconds between an agent's batches; 0 = next batch right after the ack
    )
    duration_s: float = 20.0  #: no new batch starts after this
    drain_s: float = 30.0  #: then this long at most to get batches in flight acknowledged
    step_ms: int = 1  #: spacing of points in closed-loop mode (paced: interval / points)
    gzip_level: int = 5  #: the agent's level
    timeout_s: float = 30.0
    host_prefix: str = "lg"
    max_batches: int = 0  #: per agent, 0 = unbounded (the duration bounds it)
    align: bool = (
        False  #: paced agents all tick at once (worst case) instead of spread over the interval
    )
    seed: int = 1


@dataclass(slots=True)
class Recorder:
    latencies: list[float] = field(default_factory=list)  #: seconds, per acknowledged request
    refusals: list[float] = field(default_factory=list)  #: seconds, per 408/429/503 answer
    first_attempts: int = 0
    attempts: int = 0
    acked: int = 0
    duplicates: int = 0
    unacked: int = 0
    samples_acked: int = 0
    bytes_sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    last_ack: float = 0.0
    acked_by_hub: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        raise SystemExit(f"loadgen: {url} is not a loopback address; refusing to send load there")


def host_names(cfg: LoadConfig) -> list[str]:
    return [f"{cfg.host_prefix}-{i:04d}" for i in range(cfg.agents)]


class AgentBody:
    """Byte templates of one agent's batches: everything but the batch id and timestamps is fixed.

    All series of a batch share one timestamp array, so a body is ``ts_json.join(pieces)``: the
    pieces hold the envelope, each series' metric, labels and pre-rendered values."""

    VARIANTS = 4  # values change from batch to batch, cycling through a few renderings

    def __init__(self, host: str, cfg: LoadConfig, rng: np.random.Generator) -> None:
        self.host = host
        heads = [
            orjson.dumps({"metric": f"lg.m{i % 10}", "labels": {"n": str(i)}, "unit": "%"})[:-1]
            + b',"ts":'
            for i in range(cfg.series)
        ]
        base = rng.uniform(0, 100, cfg.series)
        self.head = heads[0]
        #: per variant, what goes after each series' timestamps: its values, then the next head
        self.variants: list[list[bytes]] = []
        for _ in range(self.VARIANTS):
            values = np.round(base[:, None] + rng.normal(0, 2, (cfg.series, cfg.points)), 2)
            tails = [b',"values":' + orjson.dumps(row, option=NUMPY) + b"}" for row in values]
            pieces = [tails[i] + b"," + heads[i + 1] for i in range(cfg.series - 1)]
            pieces.append(tails[-1] + b"]}")
            self.variants.append(pieces)
        host_json = orjson.dumps(host)
        self.prefix = b'{"version":1,"host":' + host_json + b',"agent":{"version":"loadgen"},'

    def render(self, seq: int, batch_id: str, ts: np.ndarray) -> bytes:
        first = self.prefix + b'"batch_id":"' + batch_id.encode() + b'","series":[' + self.head
        return orjson.dumps(ts, option=NUMPY).join([first, *self.variants[seq % self.VARIANTS]])


async def post_until_acked(
    client: aiohttp.ClientSession, url: str, token: str, body: bytes, rec: Recorder, give_up: float
) -> dict[str, Any] | None:
    """POST one batch, retrying like the agent, until a 200 or ``give_up`` (monotonic seconds)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    rec.first_attempts += 1
    while time.monotonic() < give_up:
        rec.attempts += 1
        rec.bytes_sent += len(body)
        started = time.perf_counter()
        try:
            async with client.post(url, data=body, headers=headers) as response:
                answer = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            rec.error(f"transport:{type(exc).__name__}")
            await asyncio.sleep(0.5)
            continue
        elapsed = time.perf_counter() - started
        if response.status == 200:
            rec.latencies.append(elapsed)
            rec.last_ack = time.monotonic()
            return orjson.loads(answer)  # type: ignore[no-any-return]
        rec.error(str(response.status))
        if response.status in {408, 429, 503}:
            rec.refusals.append(elapsed)  # how soon an overloaded hub says so (issue 17)
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        sys.stderr.write(f"loadgen: batch refused {response.status}: {answer[:300]!r}\n")
        return None
    return None


async def run_agent(
    index: int,
    body: AgentBody,
    token: str,
    url: str,
    client: aiohttp.ClientSession,
    cfg: LoadConfig,
    rec: Recorder,
    started: float,
    run_id: str,
) -> None:
    stop_at = started + cfg.duration_s
    give_up = stop_at + cfg.drain_s
    paced = cfg.interval_s > 0
    step = int(cfg.interval_s * 1000 / cfg.points) if paced else cfg.step_ms
    step = max(step, 1)
    offsets = np.arange(cfg.points, dtype=np.int64) * step
    last_end = 0
    seq = 0
    tick = started
    if paced and not cfg.align:  # agents out of phase, as a real fleet started at random times is
        tick += cfg.interval_s * index / cfg.agents
    while True:
        if paced:
            delay = tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        if time.monotonic() >= stop_at or (cfg.max_batches and seq >= cfg.max_batches):
            return
        now = int(time.time() * 1000)
        first = max(last_end + step, now - int(offsets[-1]))
        ts = first + offsets
        last_end = int(ts[-1])
        batch_id = f"{run_id}-{index}-{seq}"
        raw = body.render(seq, batch_id, ts)
        payload = gzip.compress(raw, compresslevel=cfg.gzip_level, mtime=0)
        answer = await post_until_acked(client, url, token, payload, rec, give_up)
        if answer is None:
            rec.unacked += 1
        elif answer.get("duplicate"):
            rec.duplicates += 1
        else:
            rec.acked += 1
            rec.acked_by_hub[url] = rec.acked_by_hub.get(url, 0) + 1
            rec.samples_acked += int(answer["accepted"])
        seq += 1
        if paced:
            # fell behind: skip ticks rather than burst to catch up
            tick = max(tick + cfg.interval_s, time.monotonic())


async def run_load(cfg: LoadConfig, tokens: dict[str, str]) -> dict[str, Any]:
    """Run the fleet against ``cfg.hubs`` (agent i sticks to hub i mod len(hubs)); the summary."""
    for hub in cfg.hubs:
        check_loopback(hub)
    rng = np.random.default_rng(cfg.seed)
    hosts = host_names(cfg)
    bodies = [AgentBody(h, cfg, rng) for h in hosts]
    # A session per agent, each with one keep-alive connection, as real agents have. aiohttp
    # rather than httpx (which the agent uses): its C parser costs the generator a fraction of
    # httpx's CPU per request, and at 500 requests/s on 2 cores the generator's share is
    # taken from the hubs under test (bench/multihub.py measured httpx at ~1.5 ms per request).
    timeout = aiohttp.ClientTimeout(total=cfg.timeout_s)
    clients = [
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), timeout=timeout, skip_auto_headers=["User-Agent"]
        )
        for _ in range(cfg.agents)
    ]
    rec = Recorder()
    run_id = secrets.token_hex(4)
    started = time.monotonic()
    try:
        await asyncio.gather(
            *(
                run_agent(
                    i,
                    bodies[i],
                    tokens[hosts[i]],
                    cfg.hubs[i % len(cfg.hubs)].rstrip("/") + "/api/v1/ingest",
                    clients[i],
                    cfg,
                    rec,
                    started,
                    run_id,
                )
                for i in range(cfg.agents)
            )
        )
    finally:
        for client in clients:
            await client.close()
    return summarize(cfg, rec, started)


def percentiles_ms(seconds: list[float]) -> dict[str, float]:
    lat = np.asarray(seconds) * 1000
    if not lat.size:
        return {}
    return {f"p{q}": round(float(np.percentile(lat, q)), 2) for q in (50, 95, 99)} | {
        "max": round(float(lat.max()), 2),
        "n": int(lat.size),
    }


def summarize(cfg: LoadConfig, rec: Recorder, started: float) -> dict[str, Any]:
    elapsed = max((rec.last_ack or time.monotonic()) - started, 1e-9)
    pct = percentiles_ms(rec.latencies)
    return {
        "config": {k: v for k, v in asdict(cfg).items() if k != "seed"},
        "elapsed_s": round(elapsed, 3),
        "batches": {
            "sent": rec.first_attempts,
            "acked": rec.acked,
            "duplicate": rec.duplicates,
            "unacked": rec.unacked,
            "retries": rec.attempts - rec.first_attempts,
        },
        "samples_acked": rec.samples_acked,
        "samples_per_s": round(rec.samples_acked / elapsed),
        "gzip_bytes_per_sample": round(rec.bytes_sent / max(rec.samples_acked, 1), 3),
        "latency_ms": pct,
        "refusal_latency_ms": percentiles_ms(rec.refusals),
        "errors": rec.errors,
        "acked_batches_by_hub": {
            u.removesuffix("/api/v1/ingest"): n for u, n in rec.acked_by_hub.items()
        },
    }


def create_tokens(db: str, hosts: list[str], parallel: int = 4) -> dict[str, str]:
    """One token per host with ``hostpulse token create HOST --db DB``, a few at a time."""

    async def one(host: str, gate: asyncio.Semaphore) -> tuple[str, str]:
        async with gate:
            process = await asyncio.create_subprocess_exec(
                HOSTPULSE,
                "token",
                "create",
                host,
                "--db",
                db,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"token create {host} failed: {err.decode()[-500:]}")
            return host, out.decode().strip().splitlines()[-1]

    async def every() -> dict[str, str]:
        gate = asyncio.Semaphore(parallel)
        return dict(await asyncio.gather(*(one(h, gate) for h in hosts)))

    return asyncio.run(every())


def create_tokens_inproc(db: str, hosts: list[str]) -> dict[str, str]:
    """The same tokens through the function behind ``hostpulse token create``, in one process:
    for fleets of hundreds, where a CLI start per host (~0.5 s on PostgreSQL) adds minutes."""
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from hostpulse.hub.auth.agent_tokens import create_token
    from hostpulse.hub.storage.database import close_database, open_database

    async def every() -> dict[str, str]:
        await open_database(db)
        try:
            return {host: await create_token(host) for host in hosts}
        finally:
            await close_database()

    return asyncio.run(every())


def load_tokens(path: Path | None, db: str | None, hosts: list[str]) -> dict[str, str]:
    known: dict[str, str] = json.loads(path.read_text()) if path and path.exists() else {}
    missing = [h for h in hosts if h not in known]
    if missing:
        if not db:
            raise SystemExit(
                f"loadgen: no token for {len(missing)} host(s); give --db to make them"
            )
        known |= create_tokens(db, missing)
        if path:
            path.write_text(json.dumps(known))
            os.chmod(path, 0o600)
    return known


def parse_args(argv: list[str] | None = None) -> tuple[LoadConfig, argparse.Namespace]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hub", action="append", required=True, help="hub URL (repeat for several)")
    p.add_argument(
        "--db", help="the hubs' database URL, to create tokens with `hostpulse token create`"
    )
    p.add_argument("--tokens", type=Path, help="JSON file host → token (read, and saved to)")
    for name, default in asdict(LoadConfig(hubs=[])).items():
        if name == "hubs":
            continue
        flag = "--" + name.removesuffix("_s").replace("_", "-")
        if isinstance(default, bool):
            p.add_argument(flag, dest=name, action="store_true")
        else:
            p.add_argument(flag, dest=name, type=type(default), default=default)
    args = p.parse_args(argv)
    values = {k: getattr(args, k) for k in asdict(LoadConfig(hubs=[])) if k != "hubs"}
    return LoadConfig(hubs=args.hub, **values), args


def main(argv: list[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    tokens = load_tokens(args.tokens, args.db, host_names(cfg))
    summary = asyncio.run(run_load(cfg, tokens))
    print(json.dumps(summary, indent=2))
    return 1 if summary["batches"]["unacked"] else 0


if __name__ == "__main__":
    sys.exit(main())


def count_check(acked: int, acked_batches: int, unacked: int, counts: dict[str, Any]) -> dict[str, Any]:
    """Zero loss and zero duplicates, from what the fleet was told and what the hub stored
    (``counts``: samples, batches and distinct_batches stored)."""
    return {
        "samples_acked": acked,
        "samples_stored": counts["samples"],
        "batches_acked": acked_batches,
        "batches_stored": counts["batches"],
        "distinct_batches_stored": counts["distinct_batches"],
        "unacked_batches": unacked,
        "zero_loss": counts["samples"] >= acked and unacked == 0,
        "zero_duplicates": counts["samples"] <= acked
        and counts["batches"] == counts["distinct_batches"] == acked_batches,
    }
