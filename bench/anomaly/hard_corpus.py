"""A harder labelled corpus than corpus.py, and real unlabelled series from statsmodels.

Labelled series mix what the hub meets and the first corpus did not: spacing of 1 s, 1 min,
5 min and 1 h, irregular spacing with gaps, Poisson counts with long runs of 0, integer
readings, Student-t (df 2) heavy tails, long flat stretches, a sensor flipping between two
levels, daily seasonality. Each labelled series has one or two incidents (a level shift, a spike
or a variance burst) whose onset is the label; about a third of the series have none.

The unlabelled series are datasets statsmodels ships (sunspots, co2, nile, elnino, macrodata):
real data nobody here generated, used only for the false-flag rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SPACINGS_S = (1, 60, 300, 3600)
NOISE = ("gauss", "heavy", "counts", "integer", "flat", "flip")
KINDS = ("shift", "spike", "variance")
DAY_S = 86_400


@dataclass(slots=True)
class Series:
    name: str
    ts: np.ndarray  # int64 epoch ms
    values: np.ndarray
    onsets: list[int] = field(default_factory=list)  # indices of incident onsets


def _noise(rng: np.random.Generator, kind: str, n: int) -> tuple[np.ndarray, float]:
    """Normal behaviour of ``n`` points and its typical size (for incident magnitudes)."""
    if kind == "gauss":
        return 100 + 5 * rng.standard_normal(n), 5.0
    if kind == "heavy":
        return 50 + 2 * rng.standard_t(2, n), 4.0
    if kind == "counts":
        return rng.poisson(0.3, n).astype(float), 1.0
    if kind == "integer":
        return np.round(20 + 1.5 * rng.standard_normal(n)), 1.5
    if kind == "flat":
        x = np.zeros(n)
        on = rng.random(n) < 0.02  # rare small blips over a flat 0
        x[on] = rng.integers(1, 3, on.sum())
        return x, 1.0
    # flip: a sensor between two levels, staying ~50 samples in each
    state = np.cumsum(rng.random(n) < 0.02) % 2
    return 10.0 * state + 0.2 * rng.standard_normal(n), 5.0


def labelled(seed: int = 11, per_cell: int = 1) -> list[Series]:
    rng = np.random.default_rng(seed)
    out: list[Series] = []
    t0 = 1_767_571_200_000
    for spacing in SPACINGS_S:
        for irregular in (False, True):
            for noise in NOISE:
                for rep in range(per_cell):
                    n = int(rng.integers(3000, 6000))
                    dt = np.full(n, spacing * 1000.0)
                    if irregular:
                        dt = rng.exponential(spacing * 1000.0, n) + 1.0
                        gap = rng.integers(n // 4, n - 1)
                        dt[gap] *= 40  # one outage
                    ts = t0 + np.cumsum(dt).astype(np.int64)
                    x, size = _noise(rng, noise, n)
                    if spacing >= 300 and noise in ("gauss", "integer"):
                        phase = 2 * np.pi * (ts / 1000 % DAY_S) / DAY_S
                        x = x + 3 * size * np.sin(phase)
                    s = Series(f"{spacing}s-{'irr' if irregular else 'reg'}-{noise}-{rep}", ts, x)
                    n_inc = int(rng.integers(0, 3))
                    for j in range(n_inc):
                        # onsets after the first 15 % (the series must be useful by then)
                        lo = int(n * (0.15 + 0.4 * j))
                        onset = int(rng.integers(lo, lo + int(0.3 * n)))
                        kind = KINDS[int(rng.integers(len(KINDS)))]
                        if kind == "shift":
                            x[onset:] += 8 * size
                        elif kind == "spike":
                            x[onset : onset + 2] += 12 * size
                        else:
                            m = min(n, onset + 100)
                            x[onset:m] += 6 * size * rng.standard_normal(m - onset)
                        s.onsets.append(onset)
                    if noise == "counts":
                        s.values = np.maximum(np.round(x), 0.0)
                    out.append(s)
    return out


def unlabelled() -> list[Series]:
    """Real series shipped by statsmodels, timestamps at their own spacing."""
    from statsmodels import datasets as d  # the bench extra; imported late (slow)

    t0 = 0
    raw: list[tuple[str, np.ndarray, float]] = [
        ("sunspots", d.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(), 365.25 * DAY_S),
        ("co2", d.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy(), 7 * DAY_S),
        ("nile", d.nile.load_pandas().data["volume"].to_numpy(), 365.25 * DAY_S),
        ("elnino", d.elnino.load_pandas().data.iloc[:, 1:].to_numpy().ravel(), 30.4 * DAY_S),
    ]
    macro = d.macrodata.load_pandas().data
    for col in ("realgdp", "cpi", "unemp", "infl", "tbilrate", "m1"):
        raw.append((f"macrodata.{col}", macro[col].to_numpy(), 91.3 * DAY_S))
    out = []
    for name, values, spacing in raw:
        v = np.asarray(values, dtype=np.float64)
        v = v[np.isfinite(v)]
        ts = t0 + (np.arange(len(v)) * spacing * 1000).astype(np.int64)
        out.append(Series(name, ts, v))
    return out
