"""Rule cost per ingested sample: the evaluator fed agent-sized batches, 200 rules × 10,000 series,
beside the same feed with no rules, in one run. Prints medians of --repeat passes.

    .venv/bin/python bench/alert_rules.py [--series 10000] [--rules 200] [--points 5] [--repeat 5]
        [--top 100]

It measures Evaluator.observe alone (what ingest adds per batch), not a served hub's throughput.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from hostpulse.hub.alerts.config import parse_alerts
from hostpulse.hub.alerts.evaluator import Evaluator, SeriesRef

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
    samples, start = 0, time.perf_counter()
    for r in range(rounds):
        ts = np.arange(points, dtype=np.int64) * 1000 + r * points * 1000
        for lo in range(0, len(refs), SERIES_PER_BATCH):
            group = refs[lo : lo + SERIES_PER_BATCH]
            values = [rng.uniform(0, top, points) for _ in group]
            ev.observe(group, [ts] * len(group), values)
            samples += points * len(group)
    return time.perf_counter() - start, samples


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--points", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    # Values are uniform in [0, top): at 100 a fifth of the batches cross the rules' warning (80),
    # a storm of pending moves; at 70 (--top 70) none does, a fleet in its everyday state.
    ap.add_argument("--top", type=float, default=100.0)
    args = ap.parse_args()
    refs = [
        SeriesRef(i, f"host{i // SERIES_PER_BATCH}", f"m{i % 20}.x{i}", {})
        for i in range(args.series)
    ]
    with_rules = parse_alerts({"defaults": False, "rules": rules(args.rules)}).rules
    results: dict[str, list[float]] = {"no rules": [], f"{args.rules} rules": []}
    for _ in range(args.repeat):
        for label, chosen in (("no rules", ()), (f"{args.rules} rules", with_rules)):
            ev = Evaluator(chosen)
            feed(ev, refs, args.points, 1, args.top)  # first sight: rules resolved once
            seconds, samples = feed(ev, refs, args.points, 3, args.top)
            results[label].append(seconds / samples * 1e6)
    base = statistics.median(results["no rules"])
    print(
        f"{args.series} series, {args.points} points per series per batch, values in "
        f"[0, {args.top:g}), median of {args.repeat}"
    )
    for label, runs in results.items():
        med = statistics.median(runs)
        print(f"  {label:>10}: {med:.3f} µs per sample  ({med / base:.1f}x no rules)")
    extra = statistics.median(results[f"{args.rules} rules"]) - base
    print(f"  rule cost: {extra:.3f} µs per sample (target <= 0.5)")


if __name__ == "__main__":
    main()
