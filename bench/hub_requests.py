"""The hub's cost per small request beside the framework's floor, side by side in one run.

    .venv/bin/python bench/hub_requests.py                     # floor, hub on SQLite, hub on PostgreSQL
    .venv/bin/python bench/hub_requests.py --targets floor,sqlite --duration 15
    .venv/bin/python bench/hub_requests.py --fleet --targets sqlite   # the largest paced fleet held
    .venv/bin/python bench/hub_requests.py --repeat 3                 # interleaved thrice, medians

The same load generator (bench/loadgen.py's run_load: closed-loop agents, each its own keep-alive
connection, gzip bodies, Bearer tokens) runs in turn against:

* ``floor``: a bare Quart app on Hypercorn (and uvloop, as ``hostpulse hub`` runs) whose one route
  checks the bearer token against a set, inflates the gzip body, parses it with orjson and answers
  the hub's JSON. What a request costs before the hub does anything of its own;
* ``sqlite``: ``hostpulse hub`` on a fresh SQLite file;
* ``postgres``: ``hostpulse hub`` on a fresh database on 127.0.0.1:5432 (dropped afterwards).

Each target is a separate process; its CPU (user + system, psutil) is read before and after the
timed load, so "server CPU ms per request" is the server's own time, not the machine's. Series are
created by one untimed batch per agent first. Printed per target: requests/s, samples/s, server
CPU ms per request, its ratio to the floor's, and ingest latency p50/p95/p99/max.

``--fleet`` instead ramps a paced fleet (each agent ``--series`` series, one point every second)
against each hub target, ``--fleet-step`` agents more each step, each step ``--duration`` s, and
reports the largest fleet whose ingest p99 stayed within ``--p99-ms`` (250) with nothing left
unacknowledged. Everything is on loopback and stops by itself. Timing on a shared 2-core machine
is noisy: compare targets of the same run, not runs of different days.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from loadgen import LoadConfig, create_tokens_inproc, host_names, run_load
from multihub import drop_database, make_database

from tests.support.hub_process import LiveHub, free_port, start_hub

TARGETS = ("floor", "sqlite", "sqlite-normal", "postgres")
#: ``sqlite-normal``: the SQLite hub with ``?synchronous=NORMAL`` on its URL (a PRAGMA): in WAL mode a
#: commit then skips its fsync, still safe if the hub process dies, not if the machine does.

#: The floor: Quart + Hypercorn + uvloop, bearer check, gzip, orjson, a JSON answer. Nothing else.
FLOOR_APP = r'''
import gzip, sys, orjson, uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart, request

tokens = set(orjson.loads(open(sys.argv[1], "rb").read()).values())
app = Quart("floor")

@app.get("/healthz")
async def healthz():
    return {"ok": True}

@app.post("/api/v1/ingest")
async def ingest():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or token not in tokens:
        return {"error": {"code": "invalid_token", "message": "unknown token"}}, 401
    body = orjson.loads(gzip.decompress(await request.get_data()))
    accepted = sum(len(s["ts"]) for s in body["series"])
    return {"batch_id": body["batch_id"], "accepted": accepted, "duplicate": False}

config = Config()
config.bind = [sys.argv[2]]
config.accesslog = None
uvloop.run(serve(app, config))
'''


def start_floor(workdir: Path, tokens: dict[str, str]) -> LiveHub:
    workdir.mkdir(parents=True, exist_ok=True)
    token_file = workdir / "tokens.json"
    token_file.write_text(json.dumps(tokens))
    port = free_port()
    log_path = workdir / "floor.log"
    process = subprocess.Popen(
        [sys.executable, "-c", FLOOR_APP, str(token_file), f"127.0.0.1:{port}"],
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    server = LiveHub(f"http://127.0.0.1:{port}", "", workdir, process, log_path)
    import httpx

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"floor server exited:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("floor server did not answer /healthz within 30 s")


#: Where a sampled stack's time goes: the innermost frame ("function (file") of the hub's own
#: code that a rule names, so a Tortoise query inside the writer is the writer's and one inside
#: the token cache is the cache's; stacks with no such frame go by LIBRARY_RULES, innermost first.
HUB_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("auth: token cache, rate limit", ("TokenCache.", "known_token", "TokenBucket.", "authenticate (")),
    ("clock reading", ("api/clocks.py",)),
    ("body: gzip inflate (middleware)", ("hub/web/gzip_body.py",)),
    ("validation: msgspec + checks", ("model_validate_json", "api/wire.py", "msgspec")),
    ("series resolution", ("storage/registry.py",)),
    ("detector-state prepare", ("DetectorStateStore.",)),
    ("scoring (anomaly)", ("hub/anomaly/",)),
    ("writer: queue, group commit, SQL", ("storage/writer.py",)),
    ("alert rules", ("hub/alerts/",)),
    ("live frames, bus", ("hub/live/", "points_frame", "anomaly_frames")),
    ("ingest handler: limits, columns, dedupe", ("hub/api/",)),
]
LIBRARY_RULES: list[tuple[str, tuple[str, ...]]] = [
    ("database driver, SQLite thread", ("aiosqlite/", "asyncpg/", "tortoise/", "sqlite3")),
    ("response model (quart-schema)", ("quart_schema/",)),
    ("Quart", ("quart/", "werkzeug/")),
    ("Hypercorn, h11", ("hypercorn/", "h11/")),
    ("event loop (uvloop/asyncio)", ("asyncio/", "uvloop/")),
]


def _category(frames: list[str]) -> str:
    for rules in (HUB_RULES, LIBRARY_RULES):
        for frame in frames:
            for name, keys in rules:
                if any(key in frame for key in keys):
                    return name
    return "other"


def breakdown(profile: Path, cpu_ms_per_request: float) -> dict[str, dict[str, float]]:
    """A py-spy raw profile folded by category: share of samples and ms per request (that share
    of the server's CPU per request as psutil measured it)."""
    counts: dict[str, int] = {}
    for line in profile.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if n.isdigit():
            name = _category(stack.split(";")[::-1])
            counts[name] = counts.get(name, 0) + int(n)
    total = max(sum(counts.values()), 1)
    return {
        name: {
            "percent": round(100 * n / total, 1),
            "ms_per_request": round(cpu_ms_per_request * n / total, 3),
        }
        for name, n in sorted(counts.items(), key=lambda item: -item[1])
    }


def cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def measure(
    server: LiveHub, cfg: LoadConfig, tokens: dict[str, str], profile: Path | None = None
) -> dict[str, Any]:
    """One timed run of the generator against ``server``: the load summary and the server's CPU.
    With ``profile``, py-spy samples the server meanwhile into that file (collapsed stacks)."""
    spy = None
    if profile is not None:
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "--format", "raw",
             "--rate", "250", "--nonblocking", "--pid", str(server.process.pid),
             "--duration", str(int(cfg.duration_s)), "-o", str(profile)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)  # attached before the load starts
    before = cpu_s(server.process.pid)
    load = asyncio.run(run_load(cfg, tokens))
    used = cpu_s(server.process.pid) - before
    if spy is not None:
        spy.wait(timeout=60)
    acked = load["batches"]["acked"] + load["batches"]["duplicate"]
    return {
        "requests_per_s": round(acked / load["elapsed_s"], 1),
        "samples_per_s": load["samples_per_s"],
        "server_cpu_ms_per_request": round(1000 * used / max(acked, 1), 3),
        "server_cpu_percent_of_one_core": round(100 * used / load["elapsed_s"], 1),
        "latency_ms": load["latency_ms"],
        "refusals_503": load["errors"].get("503", 0),
        "refusal_latency_ms": load["refusal_latency_ms"],
        "unacked": load["batches"]["unacked"],
        "errors": load["errors"],
    }


class Target:
    """A server to measure, started fresh with the fleet's tokens, and whatever it must clean up."""

    def __init__(self, name: str, tmp: Path, hosts: list[str]) -> None:
        self.name, self.tmp, self.hosts = name, tmp, hosts
        self.pg_name = f"hp_bench_req_{uuid.uuid4().hex[:8]}" if name == "postgres" else ""

    def __enter__(self) -> tuple[LiveHub, dict[str, str]]:
        work = self.tmp / self.name
        if self.name == "floor":
            tokens = {h: f"floor-{i}" for i, h in enumerate(self.hosts)}
            self.server = start_floor(work, tokens)
            return self.server, tokens
        if self.pg_name:
            asyncio.run(make_database(self.pg_name))
            db = f"postgres://root@127.0.0.1:5432/{self.pg_name}"
        else:
            work.mkdir(parents=True, exist_ok=True)
            db = f"sqlite://{work / 'hub.sqlite3'}"
            if self.name == "sqlite-normal":
                db += "?synchronous=NORMAL"
        self.server = start_hub(work, db=db)
        return self.server, create_tokens_inproc(db, self.hosts)

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        if self.pg_name:
            asyncio.run(drop_database(self.pg_name))


def compare(args: argparse.Namespace, targets: list[str], tmp: Path) -> dict[str, Any]:
    cfg = LoadConfig(
        hubs=[],
        agents=args.agents,
        series=args.series,
        points=args.points,
        interval_s=0,
        duration_s=args.duration,
        drain_s=30,
    )
    results: dict[str, Any] = {}
    for name in targets:
        with Target(name, tmp, host_names(cfg)) as (server, tokens):
            run = replace(cfg, hubs=[server.url])
            asyncio.run(run_load(replace(run, max_batches=1), tokens))  # series made, untimed
            profile = args.profile / f"{name}.txt" if args.profile else None
            results[name] = measure(server, run, tokens, profile)
            if profile is not None:
                cost = results[name]["server_cpu_ms_per_request"]
                results[name]["profile"] = breakdown(profile, cost)
    floor = results.get("floor", {}).get("server_cpu_ms_per_request")
    for result in results.values():
        if floor:
            result["cpu_ratio_to_floor"] = round(result["server_cpu_ms_per_request"] / floor, 2)
    return {
        "bench": "hub_requests",
        "load": f"{args.agents} closed-loop agents x {args.series} series x {args.points} point(s), "
        f"{args.duration:g} s per target",
        "targets": results,
    }


def fleet(args: argparse.Namespace, targets: list[str], tmp: Path) -> dict[str, Any]:
    """Ramp a paced fleet against each hub target until ingest p99 passes ``args.p99_ms``."""
    out: dict[str, Any] = {}
    top = args.fleet_max
    for name in (t for t in targets if t != "floor"):
        cfg = LoadConfig(
            hubs=[], agents=top, series=args.series, points=1, interval_s=1.0,
            duration_s=args.duration, drain_s=30,
        )
        steps: list[dict[str, Any]] = []
        held = 0
        with Target(name, tmp, host_names(cfg)) as (server, tokens):
            run = replace(cfg, hubs=[server.url])
            asyncio.run(run_load(replace(run, interval_s=0, max_batches=1), tokens))
            for agents in range(args.fleet_step, top + 1, args.fleet_step):
                profile = args.profile / f"{name}-{agents}.txt" if args.profile else None
                step = measure(server, replace(run, agents=agents), tokens, profile)
                if profile is not None:
                    step["profile"] = breakdown(profile, step["server_cpu_ms_per_request"])
                ok = step["latency_ms"].get("p99", 1e9) <= args.p99_ms and not step["unacked"]
                steps.append({"agents": agents, "held": ok} | step)
                if not ok:
                    break
                held = agents
        out[name] = {"largest_fleet_held": held, "steps": steps}
    return {
        "bench": "hub_requests --fleet",
        "load": f"paced agents x {args.series} series x 1 point every 1 s, {args.duration:g} s a "
        f"step, +{args.fleet_step} agents a step; held = ingest p99 <= {args.p99_ms:g} ms, none unacked",
        "targets": out,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--targets", default="floor,sqlite,postgres", help=f"comma-separated, of {','.join(TARGETS)}"
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="run the targets this many times, interleaved"
    )
    p.add_argument("--agents", type=int, default=50)
    p.add_argument("--series", type=int, default=50, help="series per agent")
    p.add_argument("--points", type=int, default=1, help="points per series per batch")
    p.add_argument("--duration", type=float, default=15.0, help="seconds of load per target/step")
    p.add_argument(
        "--profile", type=Path, help="folder: py-spy samples each server into NAME.txt (collapsed)"
    )
    p.add_argument("--fleet", action="store_true", help="ramp a paced fleet instead")
    p.add_argument("--fleet-step", type=int, default=100)
    p.add_argument("--fleet-max", type=int, default=800)
    p.add_argument("--p99-ms", type=float, default=250.0)
    args = p.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        p.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    if args.duration <= 0 or args.duration > 120:
        p.error("--duration must be in (0, 120] seconds: a benchmark here stays bounded")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if not 1 <= args.repeat <= 9:
        p.error("--repeat must be 1 to 9")
    runs = []
    for _ in range(args.repeat):  # all targets in turn, then again: interleaved, side by side
        with tempfile.TemporaryDirectory(prefix="hp-hub-requests-") as tmp:
            runs.append((fleet if args.fleet else compare)(args, targets, Path(tmp)))
        runs[-1]["load_average_1m"] = os.getloadavg()[0]
    if args.repeat == 1:
        print(json.dumps(runs[0], indent=2))
        return 0
    print(json.dumps({"runs": runs, "medians": medians(runs, targets)}, indent=2))
    return 0


def medians(runs: list[dict[str, Any]], targets: list[str]) -> dict[str, dict[str, float]]:
    """Per target, the median over the runs of its figures (a fleet: of its first step's)."""
    out: dict[str, dict[str, float]] = {}
    for name in targets:
        results = [r["targets"][name] for r in runs if name in r["targets"]]
        rows = [r["steps"][0] if "steps" in r else r for r in results]
        if not rows:
            continue
        out[name] = {
            "server_cpu_ms_per_request": float(
                np.median([r["server_cpu_ms_per_request"] for r in rows])
            ),
            "requests_per_s": float(np.median([r["requests_per_s"] for r in rows])),
            "p99_ms": float(np.median([r["latency_ms"].get("p99", np.nan) for r in rows])),
        }
    floor = out.get("floor", {}).get("server_cpu_ms_per_request")
    for figures in out.values():
        if floor:
            figures["cpu_ratio_to_floor"] = round(figures["server_cpu_ms_per_request"] / floor, 2)
    return out


if __name__ == "__main__":
    sys.exit(main())
