"""A seeded generator of labelled, host-like series for scoring anomaly detectors.

Four kinds of series, each with what is *normal* for it:

* ``cpu``   a daily cycle (business-hours bump + harmonic), autocorrelated noise, clipped to
  [0, 100]; one in three is a busy host (high level, large noise, pinned against 100 at times).
* ``mem``   a slowly wandering level (random walk) with small noise.
* ``net``   bytes/s with a daily cycle, multiplicative log-normal noise and normal bursts
  (about one an hour, x1.5-2.5 for 1-5 minutes): noisy but normal.
* ``disk``  steadily filling (0.5-2 % a day) with small noise.

And five kinds of anomaly, sized in units of the series' own noise (``sigma``):

* ``spike``        1-3 samples, 6-12 sigma (net: x4-8, above the normal bursts)
* ``level_shift``  a permanent step of 4-8 sigma
* ``variance``     noise x3-5 for 2-6 h
* ``drift``        a ramp of 6-12 sigma over 3-8 h, then staying there (a leak)
* ``cycle_break``  the daily cycle vanishes or moves by 8-16 h for a day (cpu and net only)

On cpu, anomalies go the way there is room for inside [0, 100]; on net they are multiplicative
(sigma is that of log(value)). Samples are 60 s apart with +-5 s jitter and occasional gaps of 5-90 minutes; series last 4 days;
anomalies start between 2.0 and 3.2 days in, so the detectors have had time to learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DAY_MS = 86_400_000
STEP_MS = 60_000
START_MS = 1_767_571_200_000  # 2026-01-05 00:00 UTC
KINDS = ("spike", "level_shift", "variance", "drift", "cycle_break")
SERIES_KINDS = ("cpu", "mem", "net", "disk")


@dataclass(slots=True)
class Labelled:
    name: str
    series_kind: str
    ts: np.ndarray
    values: np.ndarray
    anomaly: str | None = None  # one anomaly per anomalous series
    start: int = 0  # ms
    end: int = 0  # ms, inclusive
    extra: dict[str, float] = field(default_factory=dict)


def _timestamps(rng: np.random.Generator, days: float) -> np.ndarray:
    n = int(days * DAY_MS / STEP_MS)
    ts = START_MS + np.arange(n, dtype=np.int64) * STEP_MS
    ts += rng.integers(-5_000, 5_001, n)
    keep = np.ones(n, dtype=bool)
    for _ in range(rng.poisson(days * 1.5)):  # gaps: an agent restart, a network blip
        at = int(rng.integers(60, n - 60))
        keep[at : at + int(rng.integers(5, 91))] = False
    return np.sort(ts[keep])


def _ar_noise(rng: np.random.Generator, n: int, phi: float = 0.5) -> np.ndarray:
    eps = rng.standard_normal(n) * np.sqrt(1 - phi * phi)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):  # numpy has no AR(1) filter; 6k samples a series is still fast
        acc = phi * acc + eps[i]
        out[i] = acc
    return out


def _cycle(ts: np.ndarray, peak_hour: float) -> np.ndarray:
    """A daily profile in [-1, 1]: broad daytime bump plus a smaller harmonic."""
    phase = 2 * np.pi * ((ts % DAY_MS) / DAY_MS - peak_hour / 24.0)
    return 0.8 * np.cos(phase) + 0.2 * np.cos(2 * phase)


def generate(
    rng: np.random.Generator, kind: str, anomaly: str | None, days: float = 4.0
) -> Labelled:
    """One labelled series of ``kind`` with at most one ``anomaly``."""
    ts = _timestamps(rng, days)
    n = len(ts)
    peak = float(rng.uniform(10, 16))
    start = int(START_MS + rng.uniform(2.0, 3.2) * DAY_MS)
    at = int(np.searchsorted(ts, start))
    start = int(ts[at])
    after = np.arange(n) >= at
    lab = Labelled(f"{kind}-{anomaly or 'normal'}", kind, ts, np.zeros(n), anomaly, start)
    lab.end = int(ts[-1])

    # The cycle, which a cycle break replaces for a day.
    cyc = _cycle(ts, peak)
    if anomaly == "cycle_break":
        lab.end = start + DAY_MS
        window = (ts >= start) & (ts <= lab.end)
        if rng.random() < 0.5:
            cyc = np.where(window, 0.0, cyc)
        else:
            cyc = np.where(window, _cycle(ts, peak + rng.uniform(8, 16)), cyc)

    # Noise, with its multiplier for a variance change.
    noise = _ar_noise(rng, n)
    if anomaly == "variance":
        lab.end = start + int(rng.uniform(2, 6) * 3_600_000)
        noise = np.where((ts >= start) & (ts <= lab.end), noise * rng.uniform(3, 5), noise)

    # Shape of the anomaly in sigma units (added to the value after scaling).
    bump = np.zeros(n)
    sign = 1.0 if kind in ("mem", "disk") or rng.random() < 0.5 else -1.0
    if anomaly == "spike":
        width = int(rng.integers(1, 4))
        bump[at : at + width] = rng.uniform(6, 12)
        lab.end = int(ts[min(at + width, n) - 1])
        sign = 1.0
    elif anomaly == "level_shift":
        bump[after] = rng.uniform(4, 8)
    elif anomaly == "drift":
        hours = rng.uniform(3, 8)
        ramp = np.clip((ts - start) / (hours * 3_600_000), 0, 1)
        bump = np.where(after, ramp * rng.uniform(6, 12), 0.0)
    bump *= sign

    if kind == "cpu":
        busy = rng.random() < 1 / 3
        level = rng.uniform(60, 75) if busy else rng.uniform(15, 45)
        sigma = rng.uniform(8, 12) if busy else rng.uniform(3, 8)
        amp = rng.uniform(3, 5) * sigma if anomaly == "cycle_break" else rng.uniform(1, 4) * sigma
        if anomaly in ("level_shift", "drift", "spike"):
            bump = np.abs(bump) * (1.0 if level < 50 else -1.0)  # room to move inside [0, 100]
        values = np.clip(level + amp * cyc + sigma * (noise + bump), 0, 100)
    elif kind == "mem":
        level = rng.uniform(30, 70)
        sigma = rng.uniform(0.3, 1.0)
        walk = np.cumsum(rng.standard_normal(n)) * sigma * 0.03
        values = level + walk + sigma * (noise + bump)
    elif kind == "net":
        # Multiplicative noise, so anomalies are sized in sigmas of log(value) too: a shift of
        # 4-8 sigma multiplies the traffic, as a new client or a broken cache would.
        base = 10 ** rng.uniform(5, 7)
        sigma_ln = rng.uniform(0.15, 0.3)
        amp = rng.uniform(0.4, 0.7)
        level = base * (1 + amp * cyc)
        burst = np.ones(n)
        for _ in range(rng.poisson(days * 24)):
            b = int(rng.integers(0, n))
            burst[b : b + int(rng.integers(1, 6))] *= rng.uniform(1.5, 2.5)
        if anomaly == "cycle_break":
            burst[:] = 1.0  # keep the break about the cycle, not the bursts
        if anomaly == "spike":  # an anomalous burst is far above the normal ones: x4-8
            bump = np.where(bump > 0, np.log(rng.uniform(4, 8)) / sigma_ln, 0.0)
        sigma = sigma_ln
        values = level * burst * np.exp(sigma_ln * (noise + bump))
    else:  # disk
        level = rng.uniform(20, 60)
        slope = rng.uniform(0.5, 2.0) / DAY_MS
        sigma = rng.uniform(0.05, 0.2)
        values = level + slope * (ts - ts[0]) + sigma * (noise + bump)
    lab.values = values.astype(np.float64)
    lab.extra = {"sigma": float(sigma)}
    return lab


def corpus(seed: int = 7, per_combo: int = 8, normal_per_kind: int = 12) -> list[Labelled]:
    """Every series kind x every anomaly that fits it, ``per_combo`` times, plus anomaly-free
    series of each kind: the labelled corpus the bench scores detectors on."""
    rng = np.random.default_rng(seed)
    out: list[Labelled] = []
    for kind in SERIES_KINDS:
        for anomaly in KINDS:
            if anomaly == "cycle_break" and kind not in ("cpu", "net"):
                continue
            out += [generate(rng, kind, anomaly) for _ in range(per_combo)]
        out += [generate(rng, kind, None) for _ in range(normal_per_kind)]
    return out
