"""Record this machine's own metrics with the agent's collectors while real workloads run.

    .venv/bin/python bench/anomaly/record_machine.py [--out bench/anomaly/recordings/NAME] [--short]

Prerequisites (Debian): ``apt-get install -y stress-ng fio iperf3``. Nothing else in the project
needs them; a missing tool stops the script before it records anything.

The agent's sources (plan/build_collectors, exactly what ``hostpulse agent`` runs) are collected
in-process every second; each workload change is logged as a label (name, start, end in epoch ms).
Every workload is bounded: one CPU worker, short fio jobs on a temp file, loopback iperf3 capped at
a bit rate, all with their own timeouts, and the whole schedule lasts about 20 minutes. The machine
is shared: the "idle" stretches hold whatever else ran on it (other people's tests, compiles);
that is real background, unlabelled, and it is charged as false rows when a detector flags it.

Writes NAME.csv.gz (ts_ms,metric,labels,value) and NAME.labels.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

INTERVAL_S = 1.0


def _schedule(tmp: Path) -> list[tuple[str, float, list[list[str]]]]:
    """(label, seconds, commands); label "idle" runs nothing. Each command ends by itself."""
    f = str(tmp / "fio.dat")
    fio = ["fio", "--name=rec", f"--filename={f}", "--size=256M", "--ioengine=psync",
           "--direct=1", "--time_based", "--group_reporting", "--output=/dev/null"]
    return [
        ("idle", 180, []),
        ("stress_cpu", 90, [["stress-ng", "--cpu", "1", "--timeout", "90s", "--quiet"]]),
        ("idle", 120, []),
        ("fio_randwrite", 60, [[*fio, "--rw=randwrite", "--bs=4k", "--runtime=60"]]),
        ("idle", 120, []),
        ("iperf3_loopback", 45, [["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", "52011"],
                                 ["iperf3", "-c", "127.0.0.1", "-p", "52011", "-t", "45",
                                  "-b", "400M"]]),
        ("idle", 120, []),
        ("stress_vm", 60, [["stress-ng", "--vm", "1", "--vm-bytes", "1G", "--timeout", "60s",
                            "--quiet"]]),
        ("idle", 120, []),
        ("fio_seqwrite", 45, [[*fio, "--rw=write", "--bs=1M", "--runtime=45"]]),
        ("idle", 90, []),
        ("stress_cpu", 60, [["stress-ng", "--cpu", "1", "--timeout", "60s", "--quiet"]]),
        ("idle", 120, []),
    ]


def _short(schedule: list[tuple[str, float, list[list[str]]]]) -> list[tuple[str, float, list[list[str]]]]:
    """A 2-minute version for checking the script itself."""
    return [(label, min(seconds, 15), cmds) for label, seconds, cmds in schedule[:4]]


def _start(commands: list[list[str]]) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i, cmd in enumerate(commands):
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if i == 0 and len(commands) > 1:
            time.sleep(0.5)  # the iperf3 server listens before its client connects
    return procs


def _finish(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:  # every command has its own timeout; this is the backstop
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _record(out: Path, schedule: list[tuple[str, float, list[list[str]]]]) -> None:
    from hostpulse.agent.collect.plan import build_collectors, plan
    from hostpulse.agent.collect.scheduler import close_all
    from hostpulse.agent.config import load_config
    from hostpulse.agent.loading.discover import discover
    from hostpulse.agent.stats import Stats

    config = load_config(None, flags={})
    stats = Stats()
    collectors = build_collectors(plan(discover([]), config, only=None, with_self=False), config, stats)
    labels: list[dict[str, Any]] = []
    rows = 0
    with gzip.open(out.with_suffix(".csv.gz"), "wt", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ts_ms", "metric", "labels", "value"])
        for label, seconds, commands in schedule:
            start = time.time()
            procs = _start(commands)
            labels.append({"label": label, "start_ms": int(start * 1000),
                           "end_ms": int((start + seconds) * 1000)})
            next_tick = start
            while time.time() < start + seconds:
                tick = int(time.time() * 1000)
                rounds = await asyncio.gather(*(c.collect(tick) for c in collectors))
                for points in rounds:
                    for p in points:
                        d = p.as_json()
                        labs = ",".join(f"{k}={v}" for k, v in sorted(d["labels"].items()))
                        writer.writerow([d["ts"], d["metric"], labs, d["value"]])
                        rows += 1
                next_tick += INTERVAL_S
                await asyncio.sleep(max(0.0, next_tick - time.time()))
            _finish(procs)
            print(f"{label}: {seconds:.0f} s, {rows} rows so far", flush=True)
    close_all(collectors)
    out.with_suffix(".labels.json").write_text(json.dumps(labels, indent=1) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "recordings" / "machine")
    ap.add_argument("--short", action="store_true", help="2-minute check of the script itself")
    args = ap.parse_args()
    missing = [t for t in ("stress-ng", "fio", "iperf3") if shutil.which(t) is None]
    if missing:
        sys.exit(f"missing prerequisites: {', '.join(missing)} (apt-get install -y stress-ng fio iperf3)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hostpulse-rec-") as tmp:
        schedule = _schedule(Path(tmp))
        asyncio.run(_record(args.out, _short(schedule) if args.short else schedule))


if __name__ == "__main__":
    main()
