"""Issue 14's demo figure: anomalies outside the demo sources during a 30-second disk workload.

    .venv/bin/python bench/anomaly/demo_disk.py [--quiet-before 100] [--busy 30] [--quiet-after 60]
    .venv/bin/python bench/anomaly/demo_disk.py --quiet-only 900     # the 15-minute quiet count

Starts ``hostpulse demo`` on a free loopback port in a temp data dir, waits ``--quiet-before``
seconds, runs ``dd if=/dev/zero of=<tmpfile> bs=1M count=64 conv=fsync`` in a loop for
``--busy`` seconds, waits ``--quiet-after`` seconds, then reads ``/api/v1/anomalies`` and counts
the flagged points by series, the demo sources' own series (``demo.*``: injected on purpose)
apart. Bars (issue 14): at most 3 on any one series and 15 in all outside ``demo.*``. The load
average at the start and at the end is printed too: on a shared machine the run is not quiet.
Everything stops by itself; the demo is ended with SIGINT, as Ctrl-C would.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _anomalies(url: str, since_ms: int) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{url}/api/v1/anomalies?from={since_ms}&limit=10000", timeout=10) as r:
        rows: list[dict[str, object]] = json.load(r)["anomalies"]
    return rows


def _wait_up(url: str, deadline_s: float) -> None:
    end = time.time() + deadline_s
    while time.time() < end:
        try:
            _anomalies(url, 0)
            return
        except OSError:
            time.sleep(0.5)
    sys.exit(f"the demo hub at {url} did not answer within {deadline_s:.0f} s")


def _disk_load(path: Path, seconds: float) -> int:
    runs, end = 0, time.time() + seconds
    while time.time() < end:
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={path}", "bs=1M", "count=64", "conv=fsync"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60,
        )
        runs += 1
    path.unlink(missing_ok=True)
    return runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet-before", type=float, default=100.0)
    ap.add_argument("--busy", type=float, default=30.0)
    ap.add_argument("--quiet-after", type=float, default=60.0)
    ap.add_argument("--quiet-only", type=float, default=0.0, help="seconds of quiet, no workload")
    args = ap.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="hostpulse-demo-disk-") as tmp:
        demo = subprocess.Popen(
            [sys.executable, "-m", "hostpulse.hub.commands.main", "demo",
             "--bind", f"127.0.0.1:{port}", "--data-dir", tmp, "--host", "demo-disk"],
            stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "demo.log", "w"),  # noqa: SIM115
        )
        try:
            _wait_up(url, 30)
            began = int(time.time() * 1000)
            load_start = os.getloadavg()
            if args.quiet_only:
                time.sleep(args.quiet_only)
                print(f"{args.quiet_only:.0f} s quiet")
            else:
                time.sleep(args.quiet_before)
                runs = _disk_load(Path(tmp) / "dd.bin", args.busy)
                print(f"{args.quiet_before:.0f} s quiet, {args.busy:.0f} s of dd ({runs} runs of 64 MiB"
                      f" + fsync), {args.quiet_after:.0f} s quiet")
                time.sleep(args.quiet_after)
            rows = _anomalies(url, began)
            load_end = os.getloadavg()
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=30)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
    by_series = collections.Counter(
        f"{r['metric']}{json.dumps(r['labels'], sort_keys=True) if r['labels'] else ''}" for r in rows
    )
    demo_rows = {k: v for k, v in by_series.items() if k.startswith("demo.")}
    others = {k: v for k, v in by_series.items() if not k.startswith("demo.")}
    print(f"load average (1, 5, 15 min) at the start {load_start}, at the end {load_end}")
    print(f"demo sources' series: {sum(demo_rows.values())} anomalies {dict(demo_rows)}")
    print(f"outside the demo sources: {sum(others.values())} anomalies on {len(others)} series"
          f" (worst: {max(others.values()) if others else 0} on one series)")
    for key, count in sorted(others.items(), key=lambda kv: -kv[1]):
        print(f"  {count:3d}  {key}")
    print("each of them: seconds after the start, value, score, expected band")
    for r in sorted(rows, key=lambda r: int(str(r["ts"]))):
        if not str(r["metric"]).startswith("demo."):
            labels = json.dumps(r["labels"], sort_keys=True) if r["labels"] else ""
            print(
                f"  {(int(str(r['ts'])) - began) / 1000:6.1f} s  {r['metric']}{labels}  "
                f"{r['value']}  {float(str(r['score'])):.2f}  [{r['low']:.3g}, {r['high']:.3g}]"
            )


if __name__ == "__main__":
    main()
