"""The default detector, ``robust``: seasonal profile, robust levels, three statistics.

Per series, all updated online in O(1) with time-aware decay (alpha = 1 - 2^(-dt / half-life),
so irregular spacing and gaps weigh what they should; a running mean until that is shorter):

* ``S(t)``: a daily profile, ``buckets`` exponentially weighted means by time of day, read with
  linear interpolation between bucket centres, zero-sum once a period has been seen. It learns
  ``x - anchor``, the anchor being an EWMA of ``x - S(t)`` over a whole period: the fast level
  and the baseline follow the cycle too closely to leave the profile anything to learn.
* ``level`` (half-life 30 min): Huber-clipped EWMA of ``x - S(t)``; a spike moves it by at most
  ``clip`` scales. ``baseline`` (6 h) with a ``trend`` (12 h): Holt's linear smoothing, so a
  steady slope (a disk filling) is followed without lag and only a change of slope shows.
* ``scale``: EW mean absolute residual (6 h), the yardstick of every statistic; ``burst``: the
  same over 10 min; ``tail``: a running estimate of the 99th percentile of |residual| / scale.

Three statistics, each 1.0 at its alarm threshold; the largest, times the sensitivity, is
squashed to the score (0.5 = flagged):

* point:    |x - (level + S(t))| / scale / max(threshold, tail_factor * tail)
            -> spikes, sharp shifts; the tail term learns normal bursts (busy network)
* variance: burst / scale / variance_ratio               -> variance increases
* drift:    |level - (baseline + trend dt)| / drift-dev / drift_threshold
            -> slow drift, small shifts, broken daily cycles; on from ``drift_after_s``

The band is ``level + S(t) +- max(threshold, tail_factor * tail) * scale / sensitivity``: where a
point alone would be flagged. With ``transform = "log"`` the model runs on log1p(max(x, 0)) and
the band is mapped back.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hostpulse.hub.anomaly.detector import Detector, FloatArray, squash
from hostpulse.hub.anomaly.robust_params import (
    ABS_FLOOR,
    ACCEPT_AFTER,
    ANCHOR,
    BASE,
    BURST,
    BURST_MIN_WEIGHT,
    BWEIGHT,
    CAL_BETA,
    CAL_BETA_GAIN,
    CAL_BETA_MIN,
    CAL_BETA_PRIOR,
    CAL_EXCESS_CLIP,
    CAL_MAX_RAISE,
    CAL_N,
    CAL_Q,
    CAL_Q_PRIOR,
    CAL_QUANTILE,
    CAL_TARGET_DECADES,
    CAL_U_FLOOR,
    DDEV,
    DEV_START,
    DRIFT_AFTER_SAMPLES,
    DRIFT_CLIP,
    DRIFT_FLOOR,
    FLAG_RUN,
    LEVEL,
    LN2,
    OPTIONS,
    PREV,
    REL_FLOOR,
    REPEAT,
    RES,
    RES_FRACTION,
    RUN,
    S0,
    SCALE,
    SEASON_FLOOR,
    SPACING,
    SPACING_CLIP,
    SPACING_GAIN,
    SPARSE_MIN_ROOM,
    SPARSE_RAISE,
    SPARSE_REPEAT,
    T0,
    TAIL,
    TAIL_GAIN,
    TREND,
    RobustParams,
)


def _clip(a: FloatArray, lim: FloatArray) -> FloatArray:
    # np.clip goes through a Python wrapper that costs more than the two ufuncs it calls.
    return np.minimum(np.maximum(a, -lim), lim)


class RobustDetector(Detector):
    """Seasonal robust EWMA with variance and drift statistics. The default detector."""

    name = "robust"
    description = (
        "daily profile + fast/slow robust levels; flags spikes, shifts, variance and drift"
    )
    options: ClassVar[dict[str, Any]] = OPTIONS

    def __init__(self, sensitivity: float = 1.0, warmup: int = 60, **options: Any) -> None:
        super().__init__(sensitivity, warmup, **options)
        p = RobustParams(self.config, self.name)
        self.params = p
        self._k_index = {key: i for i, key in enumerate(p.keys)}
        self._halflife_ms = np.array(p.halflife_ms)
        self._min_samples = np.array(p.min_samples)
        self._period = p.period
        self._buckets = p.buckets
        self._bucket_ms = p.bucket_ms
        self._log = p.log

    @property
    def state_size(self) -> int:
        return self.params.state_size

    def step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        if not self._log:
            return self._step(state, t, dt, n, x)
        score, low, high = self._step(state, t, dt, n, np.log1p(np.maximum(x, 0.0)))
        # 709 keeps expm1 finite; a band edge below zero means "nothing is too low".
        return score, np.expm1(np.clip(low, -1.0, 709.0)), np.expm1(np.minimum(high, 709.0))

    def _step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        c = self.config
        m = len(x)
        first = n == 0
        # The series' typical spacing (ms): learned from its own dt, so every time constant can be
        # held to a minimum number of samples whatever the sampling rate.
        spacing = state[:, SPACING]
        second = n == 1
        spacing[second] = dt[second]
        later = n > 1
        spacing += np.where(
            later,
            SPACING_GAIN * (np.minimum(dt, SPACING_CLIP * spacing) - spacing),
            0.0,
        )
        # First point of a series: the series' own value is its level; no history to decay.
        state[first, T0] = t[first]
        state[first, LEVEL] = x[first]
        state[first, BASE] = x[first]
        state[first, ANCHOR] = x[first]
        state[first, TAIL] = self.params.tail_prior
        state[first, CAL_Q] = CAL_Q_PRIOR
        state[first, CAL_BETA] = CAL_BETA_PRIOR
        state[first, CAL_N] = 0.0
        bias = 1.0 / (n + 1.0)  # running mean until the time constant is the shorter memory

        # Every decay weight of this step in three vector operations instead of fifteen.
        rates: FloatArray = LN2 / np.maximum(
            self._halflife_ms[None, :], np.multiply.outer(spacing, self._min_samples)
        )
        decay: FloatArray = -np.expm1(-dt[:, None] * rates)
        alphas: FloatArray = np.maximum(decay, bias[:, None])

        def alpha(key: str) -> FloatArray:
            return alphas[:, self._k_index[key]]

        def rate(key: str) -> FloatArray:
            return rates[:, self._k_index[key]]

        def alpha_time(key: str) -> FloatArray:  # without the running-mean start
            return decay[:, self._k_index[key]]

        rows = np.arange(m)
        pos = (np.mod(t, self._period) / self._bucket_ms) - 0.5
        lower = np.floor(pos)
        w1 = pos - lower
        b0 = np.mod(lower, self._buckets).astype(np.intp)
        b1 = np.mod(b0 + 1, self._buckets)
        season = state[:, S0:]
        s_t = season[rows, b0] * (1.0 - w1) + season[rows, b1] * w1

        level = state[:, LEVEL]
        base = state[:, BASE]
        scale = state[:, SCALE]
        res = state[:, RES]
        floor = np.maximum(REL_FLOOR * np.abs(level) + ABS_FLOOR, RES_FRACTION * res)
        # A sparse series' mean absolute residual is how often it moves, not how far: widened.
        repeat = state[:, REPEAT]
        room = np.maximum(1.0 - repeat, SPARSE_MIN_ROOM)
        move = np.where(repeat > SPARSE_REPEAT, (1.0 - SPARSE_REPEAT) / room, 1.0)
        sig = np.maximum(scale * move, floor)
        pred = level + s_t
        r = x - pred
        abs_r = np.abs(r)
        warm = n >= self.warmup

        # --- statistics, each 1.0 at its alarm threshold
        z = abs_r / sig
        tail = np.exp(state[:, TAIL])
        threshold = np.maximum(c["threshold"], c["tail_factor"] * tail)
        u_point = z / threshold
        u_var = state[:, BURST] / (sig * c["variance_ratio"])
        u_var = np.where(state[:, BWEIGHT] >= BURST_MIN_WEIGHT, u_var, 0.0)
        elapsed = t - state[:, T0]
        drift_on = (elapsed >= c["drift_after_s"] * 1000.0) & (n >= DRIFT_AFTER_SAMPLES)
        trend = state[:, TREND]
        base_pred = base + trend * dt
        e = level - base_pred
        d_sig = np.maximum(state[:, DDEV], DRIFT_FLOOR * sig)
        u_drift = np.abs(e) / (d_sig * c["drift_threshold"])
        u_drift = np.where(drift_on, u_drift, 0.0)
        # Calibration against the series' own history (see CAL_QUANTILE), of the point
        # statistic only. The drift statistic rises over hours, and a calibration following it
        # would learn the drift it is there to flag (a broken daily cycle took 15 h instead of 6);
        # calibrating the variance statistic as well took the first corpus' overall F1 from
        # 0.788 to 0.763 (bench/anomaly/run.py, seed 7) and found fewer windowed incidents.
        u = u_point
        log_u = np.log(np.maximum(u, CAL_U_FLOOR))
        excess = log_u - state[:, CAL_Q]
        beta = np.maximum(state[:, CAL_BETA], CAL_BETA_MIN)
        u_cal = np.exp(excess / (beta * CAL_TARGET_DECADES) - 1.0)
        raise_max = CAL_MAX_RAISE * np.minimum(
            np.maximum((1.0 - SPARSE_REPEAT) / np.maximum(1.0 - repeat, 1e-9), 1.0),
            SPARSE_RAISE,
        )
        u_point = np.maximum(np.minimum(u, u_cal), u / raise_max)
        self.last_stats = (u_point, u_var, u_drift)  # for diagnostics: which statistic fired
        u = np.maximum(np.maximum(u_point, u_var), u_drift)
        alarmed = (u * self.sensitivity >= 1.0) & warm
        run = np.where(alarmed, state[:, RUN] + 1.0, 0.0)
        state[:, RUN] = run
        # A run is flagged at its onset only (FLAG_RUN); once accepted, its points are the new normal.
        u = np.where(run > FLAG_RUN, np.minimum(u, 0.99 / self.sensitivity), u)
        score = squash(u * self.sensitivity)
        half = threshold * sig / self.sensitivity
        low, high = pred - half, pred + half

        # --- updates (after scoring: a point never explains itself away)
        lim = np.where(warm, c["clip"] * sig, np.inf)
        a = alpha("level_halflife_s")
        level += a * _clip(r, lim)
        y = x - s_t
        # Holt's linear baseline: a steady slope is followed without lag, so only a change of
        # slope (drift) or of level separates the fast level from it. The slope learns from the
        # time-based alpha only: the running-mean start would turn early noise into a slope.
        a = alpha("baseline_halflife_s")
        r_base = _clip(y - base_pred, lim)
        base[:] = base_pred + a * r_base
        slope_obs = alpha_time("baseline_halflife_s") / np.maximum(dt, 1.0) * r_base
        a_trend = alpha_time("trend_halflife_s")
        trend += np.where(warm, a_trend * slope_obs, 0.0)
        cap = np.where(warm, 2.0 * c["clip"] * sig, np.inf)
        clipped_abs = np.minimum(abs_r, cap)
        a = alpha("scale_halflife_s")
        scale += a * (clipped_abs - scale)
        # The short scale is a weighted mean whose weight decays with time, so a series just back
        # from a gap has a small weight rather than a short window holding one residual.
        weight = state[:, BWEIGHT] * np.exp(-dt * rate("burst_halflife_s")) + 1.0
        state[:, BWEIGHT] = weight
        state[:, BURST] += (clipped_abs - state[:, BURST]) / weight
        a = alpha("tail_halflife_s") * TAIL_GAIN
        p = c["tail_quantile"]
        step = np.minimum(a, 0.25) * (np.where(z > tail, p, 0.0) - (1.0 - p))
        state[:, TAIL] += np.where(warm, step, 0.0)
        # Calibration learns only once warm: a warm-up's immature scale would teach it huge u.
        # Same stochastic quantile step as the tail above; the mean excess is a running mean
        # (the prior counting as one exceedance) turning into an EWMA.
        over = warm & (excess > 0.0)
        q_step = np.minimum(a, 0.25) * (np.where(over, CAL_QUANTILE, 0.0) - (1.0 - CAL_QUANTILE))
        state[:, CAL_Q] += np.where(warm, q_step, 0.0)
        gain = np.maximum(1.0 / (state[:, CAL_N] + 2.0), CAL_BETA_GAIN)
        state[:, CAL_BETA] += np.where(
            over, gain * (np.minimum(excess, CAL_EXCESS_CLIP) - state[:, CAL_BETA]), 0.0
        )
        state[:, CAL_N] += np.where(over, 1.0, 0.0)
        e = level - base
        d_lim = np.where(warm, DRIFT_CLIP * np.maximum(state[:, DDEV], DRIFT_FLOOR * sig), np.inf)
        e = np.minimum(np.abs(e), d_lim)
        # The drift yardstick starts from a prior of one scale (held through the warm-up) and
        # forgets it over its half-life: early on, level and baseline are the same running mean,
        # and a yardstick learned from that would be far too small when drift alarms switch on.
        learning = elapsed - DEV_START * c["drift_after_s"] * 1000.0
        a_dev = np.maximum(
            alpha_time("drift_scale_halflife_s"), dt / np.maximum(learning + dt, 1.0)
        )
        state[:, DDEV] = np.where(
            warm & (learning > 0), state[:, DDEV] + a_dev * (e - state[:, DDEV]), sig
        )

        # Season: the buckets learn x - anchor, where the anchor is an EWMA of x - S(t) over a
        # whole period: slow enough not to follow the cycle (the level and the baseline do).
        # A bucket forgets over season_periods visits, faster while the series is young, so a
        # new host has a profile after its first day.
        anchor = state[:, ANCHOR]
        anchor += alpha("period_s") * _clip(y - anchor, lim)
        periods = np.minimum(np.maximum(elapsed / self._period, SEASON_FLOOR), c["season_periods"])
        a = -np.expm1(-dt / (self._bucket_ms * periods))
        g = a * _clip(x - anchor - s_t, lim)
        season[rows, b0] += g * (1.0 - w1)
        season[rows, b1] += g * w1
        full = elapsed >= self._period
        if full.any():
            season[full] -= season[full].mean(axis=1, keepdims=True)

        # Resolution: the smallest non-zero step between consecutive values (quantisation).
        flat_so_far = res == 0.0  # before this point's step is learned (res is a view)
        step_abs = np.abs(x - state[:, PREV])
        moved = (n > 0) & (step_abs > 0.0)
        state[:, RES] = np.where(
            moved, np.where(res > 0.0, np.minimum(res, step_abs), step_abs), res
        )
        same = np.where(x == state[:, PREV], 1.0, 0.0)
        state[:, REPEAT] += np.where(n > 0, alpha("scale_halflife_s") * (same - repeat), 0.0)
        state[:, PREV] = x
        # Accept a sustained alarm as the new regime: the level and baseline jump to the data, the
        # scale widens to the deviation now seen, the drift yardstick to the gap it measured.
        # A series that has shown no variation yet (no non-zero step: flat so far) accepts
        # at once: its first change is both the onset and all it knows of its new normal.
        accept = (run == ACCEPT_AFTER) | (alarmed & flat_so_far)
        if accept.any():
            level[accept] = y[accept]
            base[accept] = y[accept]
            trend[accept] = 0.0
            anchor[accept] = y[accept]
            wide = np.maximum(abs_r / threshold, state[:, BURST])
            scale[accept] = np.maximum(scale[accept], wide[accept])
            state[accept, DDEV] = np.maximum(state[accept, DDEV], sig[accept])
        if not np.isfinite(state).all():  # only absurd inputs get here; keep the state usable
            np.nan_to_num(state, copy=False, nan=0.0, posinf=1e300, neginf=-1e300)
        return score, low, high
