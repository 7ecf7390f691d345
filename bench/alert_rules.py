"""Rule cost per ingested sample, 200 rules × 10,000 series, beside the same load with no rules.

    .venv/bin/python bench/alert_rules.py [--series 10000] [--rules 200] [--points 5] [--repeat 5]
    .venv/bin/python bench/alert_rules.py --served [--repeat 5] [--duration 8]

Default: Evaluator.observe alone (what ingest adds per batch), fed agent-sized batches of quiet
and of crossing values, CPU time side by side in one run.

``--served``: four real ``hostpulse hub`` processes, one with no rules, one with 200 rules no
value reaches (quiet), one with 200 rules a fifth of the series sit above, firing for the whole
run and held there by the rules' clear level (firing), and one with 200 rules at 80 and 95 with
``for`` and no clear level, so the series within the noise of either level flap (crossing); each
series selected by 10, all up for the whole run; bench/loadgen.py's fleet (100 agents × 100
series = 10,000 series, ``--points`` a series a batch, closed loop: each agent's next batch as soon
as the last is acknowledged) drives one hub after the other, each round in another order (every
rotation, then each reversed) so drift in the machine's load falls on all alike. Prints each
run's samples/s and the hub's CPU time per sample with the load average, then per hub the median
with quartiles and range, and the throughput ratio to the plain hub round by round (a round's
runs are adjacent in time, so the ratio cancels most of the machine's drift), its median and
spread (bar: within 5 %).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.evaluator import Evaluator, SeriesRef

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from loadgen import LoadConfig, create_tokens, host_names, run_load

from tests.support.hub_process import start_hub

SERIES_PER_BATCH = 50  # a host's batch: one agent's series


def rules(n: int) -> list[dict[str, object]]:
    # Each rule selects a twentieth of the series, so every series is watched by n/20 rules.
    return [
        {"name": f"r{k}", "kind": "threshold", "metric": f"m{k % 20}.*", "warning": 80,
         "critical": 95, "for": "1m"}
        for k in range(n)
    ]  # fmt: skip


def feed(
    ev: Evaluator, refs: list[SeriesRef], points: int, rounds: int, top: float = 100.0
) -> tuple[float, int]:
    rng = np.random.default_rng(1)
    samples, start = 0, time.process_time()
    for r in range(rounds):
        ts = np.arange(points, dtype=np.int64) * 1000 + r * points * 1000
        for lo in range(0, len(refs), SERIES_PER_BATCH):
            group = refs[lo : lo + SERIES_PER_BATCH]
            values = [rng.uniform(0, top, points) for _ in group]
            ev.observe(group, [ts] * len(group), values)
            samples += points * len(group)
    return time.process_time() - start, samples


def evaluator_costs(args: argparse.Namespace) -> None:
    """Evaluator.observe alone, quiet and crossing values, with and without the rules."""
    refs = [
        SeriesRef(i, f"host{i // SERIES_PER_BATCH}", f"m{i % 20}.x{i}", {})
        for i in range(args.series)
    ]
    with_rules = parse_alerts({"defaults": False, "rules": rules(args.rules)}).rules
    # Values uniform in [0, top): at 70 no batch crosses the rules' warning (80), a fleet in its
    # everyday state; at 100 a fifth of the batches cross it, and each crossing series moves its
    # 10 rules to pending and back: a storm of transitions, the worst case for the cost.
    cases = {"quiet (values in [0, 70))": 70.0, "crossing (values in [0, 100))": 100.0}
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeat):
        for case, top in cases.items():
            for label, chosen in (("no rules", ()), ("rules", with_rules)):
                ev = Evaluator(chosen)
                feed(ev, refs, args.points, 1, top)  # first sight: rules resolved once
                seconds, samples = feed(ev, refs, args.points, 3, top)
                results.setdefault((case, label), []).append(seconds / samples * 1e6)
    print(
        f"Evaluator.observe: {args.series} series, {args.rules} rules (each series selected by "
        f"{args.rules // 20}), {args.points} points per series per batch; CPU time of this "
        f"process, median of {args.repeat} side-by-side pairs"
    )
    for case in cases:
        base, ruled = results[(case, "no rules")], results[(case, "rules")]
        cost = statistics.median(r - b for r, b in zip(ruled, base, strict=True))
        print(
            f"  {case}: no rules {statistics.median(base):.3f} µs, {args.rules} rules "
            f"{statistics.median(ruled):.3f} µs per sample -> rule cost {cost:.3f} µs per "
            f"sample (target <= 0.5)"
        )


def served_rules_toml(
    n: int, warning: float, critical: float, clear: float | None = None, hold: str = "30s"
) -> str:
    """``n`` threshold rules over loadgen's series (metrics lg.m0 … lg.m9, hosts lg-0000 …): rule
    k takes one metric in ten and the even or the odd hosts, so each series has n/20 rules."""
    out = ["[alerts]", "defaults = false", ""]
    for k in range(n):
        out += [
            "[[alerts.rules]]", f'name = "r{k}"', 'kind = "threshold"',
            f'metric = "lg.m{k % 10}"', f'host = "*[{"02468" if k // 10 % 2 else "13579"}]"',
            f"warning = {warning}", f"critical = {critical}", f'for = "{hold}"',
            *([f"clear = {clear}"] if clear is not None else []), "",
        ]  # fmt: skip
    return "\n".join(out)


def round_order(labels: list[str], r: int) -> list[str]:
    """Round r's order of the hubs: every rotation in turn, then the same reversed, so each hub
    runs first, middle and last equally often and drift in the machine's load (other work on it)
    falls on all alike; a round's runs are adjacent in time, which pairs them."""
    n = len(labels)
    turned = labels[r % n :] + labels[: r % n]
    return turned if (r // n) % 2 == 0 else turned[::-1]


def spread(values: list[float], fmt: str = ",.0f") -> str:
    """The median of ``values`` with, in brackets, the quartiles and the extremes."""
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else values * 3
    return (f"{statistics.median(values):{fmt}} (quartiles {q[0]:{fmt}} to {q[2]:{fmt}}, "
            f"range {min(values):{fmt}} to {max(values):{fmt}})")  # fmt: skip


def report(rates: dict[str, list[float]], cpu_us: dict[str, list[float]]) -> None:
    """Medians and spreads per hub, and each ruled hub against the plain one round by round."""
    plain = "no rules"
    print(f"  {plain:>8}: samples/s {spread(rates[plain])}; hub CPU µs a sample "
          f"{spread(cpu_us[plain], '.2f')}")  # fmt: skip
    for label in [x for x in rates if x != plain]:
        ratios = [b / a for a, b in zip(rates[plain], rates[label], strict=True)]
        extra = [b - a for a, b in zip(cpu_us[plain], cpu_us[label], strict=True)]
        of_medians = statistics.median(rates[label]) / statistics.median(rates[plain])
        print(f"  {label:>8}: samples/s {spread(rates[label])}; hub CPU µs a sample "
              f"{spread(cpu_us[label], '.2f')}")  # fmt: skip
        print(f"  {'':>8}  throughput ratio to no rules, round by round: {spread(ratios, '.3f')}"
              f"; ratio of the medians {of_medians:.3f} (bar >= 0.95); extra hub CPU a sample "
              f"{spread(extra, '+.2f')} µs")  # fmt: skip


def served(args: argparse.Namespace) -> None:
    """Served hubs without and with the rules, the same closed-loop fleet on each in turn."""
    agents, per_agent = 100, args.series // 100
    # loadgen's values sit around a per-series level uniform in [0, 100) with noise of 2. Levels
    # 150/200: no series reaches them, the everyday state. Levels 80/95: a fifth of the series
    # stay above the warning (pending, firing after 30 s), and those whose level is within the
    # noise of 80 cross it back and forth, 10 rules at a time: a storm of stored transitions,
    # 0.07 a sample. With ``for = 0s``, a clear level of 70 and no critical level in reach
    # (firing), the series that reach 80 fire in the warm-up and stay firing (their noise never
    # takes them down to 70): a fleet with a fifth of its series alerting, every batch of theirs
    # judged against live instances, and once each series has shown its four renderings of
    # values (loadgen's VARIANTS), no transition at all.
    configs = {
        "no rules": "[alerts]\ndefaults = false\n",
        "quiet": served_rules_toml(args.rules, 150, 200),
        "firing": served_rules_toml(args.rules, 80, 200, clear=70, hold="0s"),
        "crossing": served_rules_toml(args.rules, 80, 95),
    }
    with tempfile.TemporaryDirectory(prefix="hp-alert-rules-") as tmp:
        hubs: dict[str, Any] = {}
        for label, toml in configs.items():
            config = Path(tmp) / f"{label.replace(' ', '_')}.toml"
            config.write_text(toml)
            hubs[label] = start_hub(Path(tmp) / label.replace(" ", "_"),
                                    extra_args=("--config", str(config)))  # fmt: skip
        try:
            base = {
                label: LoadConfig(hubs=[hub.url], agents=agents, series=per_agent,
                                  points=args.points, duration_s=args.duration)
                for label, hub in hubs.items()
            }  # fmt: skip
            tokens = {label: create_tokens(hub.db, host_names(base[label]))
                      for label, hub in hubs.items()}  # fmt: skip
            for label in hubs:  # series created and rules matched before anything is timed
                asyncio.run(run_load(replace(base[label], max_batches=2, duration_s=120),
                                     tokens[label]))  # fmt: skip
            procs = {label: psutil.Process(hub.process.pid) for label, hub in hubs.items()}
            rates: dict[str, list[float]] = {label: [] for label in hubs}
            cpu_us: dict[str, list[float]] = {label: [] for label in hubs}
            labels = list(hubs)
            print(f"served hubs: {agents} agents × {per_agent} series = {agents * per_agent} "
                  f"series, {args.rules} rules (10 a series), {args.points} points a series a "
                  f"batch, closed loop, {args.duration:g} s a run, {args.repeat} rounds of the "
                  f"{len(hubs)} in turn; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
            for r in range(args.repeat):
                for label in round_order(labels, r):
                    cpu0 = sum(procs[label].cpu_times()[:2])
                    summary = asyncio.run(run_load(base[label], tokens[label]))
                    cpu = sum(procs[label].cpu_times()[:2]) - cpu0
                    rates[label].append(summary["samples_per_s"])
                    cpu_us[label].append(cpu / max(summary["samples_acked"], 1) * 1e6)
                    print(f"  round {r + 1} {label:>8}: {summary['samples_per_s']:>9,} "
                          f"samples/s, hub CPU {cpu_us[label][-1]:.2f} µs a sample, load "
                          f"average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
            report(rates, cpu_us)
            print(f"  load average {os.getloadavg()[0]:.1f}")
        finally:
            for hub in hubs.values():
                hub.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--points", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--served", action="store_true", help="served hubs instead (see above)")
    ap.add_argument("--duration", type=float, default=8.0, help="--served: seconds of each run")
    args = ap.parse_args()
    if args.served:
        served(args)
    else:
        evaluator_costs(args)


if __name__ == "__main__":
    main()
