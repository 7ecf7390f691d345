"""Rule cost per ingested sample: the evaluator fed agent-sized batches, 200 rules × 10,000 series,
beside the same feed with no rules, in one run. Prints medians of --repeat passes.

    .venv/bin/python bench/alert_rules.py [--series 10000] [--rules 200] [--points 5] [--repeat 5]

It measures Evaluator.observe alone (what ingest adds per batch), quiet and crossing.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--rules", type=int, default=200)
    ap.add_argument("--points", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    evaluator_costs(args)


if __name__ == "__main__":
    main()
