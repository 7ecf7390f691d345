"""One series scored point by point in plain Python floats: ``hostpulse detect``'s path.

The hub scores many series per numpy step (:mod:`.bank`, :mod:`.robust`); one series through that
path pays numpy's per-call cost on ~100 length-1 arrays per sample (~185 us a sample measured on
the shared 2-core machine) and numpy's import at start (100-140 ms there). This module is the
same arithmetic, operation for operation, on floats with :mod:`math`: the same scores as the
vectorised path (tested to 1e-9 on recorded series; numpy's and libm's exp/log may differ in the
last bit), the same snapshots (:mod:`.snapshot`, restored bit-identically either way), and no
numpy import at all. Only the built-in detectors have a scalar step; :func:`open_stream` returns
None when the configuration names any other, and the caller falls back to the engine.
"""

# Conditional expressions, not min()/max(): a builtin call costs ~3x an inline comparison, and
# there are ~35 per sample; they also keep numpy's tie rule (maximum(a, b) is a when a == b).
# ruff: noqa: FURB136, PLR1730

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from hostpulse.hub.anomaly.config import AnomalyConfig, Choice, parse
from hostpulse.hub.anomaly.options import FLAG_SCORE, VALUE_LIMIT, check_options
from hostpulse.hub.anomaly.robust_params import (
    ABS_FLOOR,
    ACCEPT_AFTER,
    BURST_MIN_WEIGHT,
    CAL_BETA_GAIN,
    CAL_BETA_MIN,
    CAL_BETA_PRIOR,
    CAL_EXCESS_CLIP,
    CAL_MAX_RAISE,
    CAL_Q_PRIOR,
    CAL_QUANTILE,
    CAL_TARGET_DECADES,
    CAL_U_FLOOR,
    DEV_START,
    DRIFT_AFTER_SAMPLES,
    DRIFT_CLIP,
    DRIFT_FLOOR,
    FLAG_RUN,
    LN2,
    OPTIONS,
    REL_FLOOR,
    RES_FRACTION,
    S0,
    SEASON_FLOOR,
    SPACING_CLIP,
    SPACING_GAIN,
    SPARSE_MIN_ROOM,
    SPARSE_RAISE,
    SPARSE_REPEAT,
    TAIL_GAIN,
    RobustParams,
)
from hostpulse.hub.anomaly.snapshot import BIG, body_of, finite, floats, pack, unpack

_INF = math.inf
_EXP_MAX = 709.78  # math.exp overflows (OverflowError) past this; numpy gives inf
_POW_MIN = 1e-70  # u ** -4 overflows (OverflowError) below ~1e-77; the score is 0 there anyway


def _exp(v: float) -> float:
    return math.exp(v) if v < _EXP_MAX else _INF


def _squash(u: float) -> float:
    # detector.squash for one value: 1 / (1 + u^-4), 0 for u = 0, 1 for u = inf.
    if not u > _POW_MIN:
        return 0.0
    return 1.0 / (1.0 + u**-4)


class _Step(Protocol):
    name: str
    state_size: int

    def __call__(
        self, state: list[float], t: float, dt: float, n: float, x: float
    ) -> tuple[float, float, float]: ...


class _NoneStep:
    """builtin.NoDetector for one series."""

    name = "none"
    state_size = 0

    def __call__(
        self, state: list[float], t: float, dt: float, n: float, x: float
    ) -> tuple[float, float, float]:
        return x * 0.0, x, x


class _RobustStep:
    """robust.RobustDetector._step for one series: every statement there has its twin here, in
    the same order and with the same operands, so the floats come out the same."""

    name = "robust"

    def __init__(self, sensitivity: float, warmup: int, config: dict[str, Any]) -> None:
        self.sensitivity = sensitivity
        self.warmup = warmup
        self.p = p = RobustParams(config, self.name)
        self.state_size = p.state_size
        self.c = config

    def __call__(
        self, state: list[float], t: float, dt: float, n: float, x: float
    ) -> tuple[float, float, float]:
        if not self.p.log:
            return self._step(state, t, dt, n, x)
        score, low, high = self._step(state, t, dt, n, math.log1p(x if x > 0.0 else 0.0))
        low = -1.0 if low < -1.0 else (709.0 if low > 709.0 else low)
        return score, math.expm1(low), math.expm1(high if high < 709.0 else 709.0)

    def _step(
        self, state: list[float], t: float, dt: float, n: float, x: float
    ) -> tuple[float, float, float]:
        c, p, sens = self.c, self.p, self.sensitivity
        (
            t0, level, base, scale, burst, trend, ddev, bweight, tail_log, anchor,
            prev, res, spacing, run, cal_q, cal_beta, cal_n, repeat,
        ) = state[:S0]  # fmt: skip
        if n == 1.0:
            spacing = dt
        elif n > 1.0:
            spacing += SPACING_GAIN * (
                (dt if dt <= SPACING_CLIP * spacing else SPACING_CLIP * spacing) - spacing
            )
        if n == 0.0:
            t0 = t
            level = base = anchor = x
            tail_log = p.tail_prior
            cal_q, cal_beta, cal_n = CAL_Q_PRIOR, CAL_BETA_PRIOR, 0.0
        bias = 1.0 / (n + 1.0)
        # The decay weights, in the order of RobustParams.keys: level, baseline, scale, burst,
        # trend, drift yardstick, tail, period.
        hl, mins = p.halflife_ms, p.min_samples
        rates = [
            LN2 / (h if h >= spacing * m else spacing * m) for h, m in zip(hl, mins, strict=True)
        ]
        decay = [-math.expm1(-dt * r) for r in rates]
        alphas = [d if d >= bias else bias for d in decay]
        a_level, a_base, a_scale, _, _, _, a_tail, a_period = alphas

        season = state[S0:]
        pos = ((t % p.period) / p.bucket_ms) - 0.5
        lower = math.floor(pos)
        w1 = pos - lower
        b0 = int(lower % p.buckets)
        b1 = (b0 + 1) % p.buckets
        s_t = season[b0] * (1.0 - w1) + season[b1] * w1

        floor = REL_FLOOR * abs(level) + ABS_FLOOR
        floor_res = RES_FRACTION * res
        if floor_res > floor:
            floor = floor_res
        if repeat > SPARSE_REPEAT:
            room = 1.0 - repeat
            if not room >= SPARSE_MIN_ROOM:
                room = SPARSE_MIN_ROOM
            s_scale = scale * ((1.0 - SPARSE_REPEAT) / room)
        else:
            s_scale = scale * 1.0
        sig = s_scale if s_scale >= floor else floor
        pred = level + s_t
        r = x - pred
        abs_r = abs(r)
        warm = n >= self.warmup

        z = abs_r / sig
        tail = math.exp(tail_log)
        threshold = c["tail_factor"] * tail
        if not threshold > c["threshold"]:
            threshold = c["threshold"]
        u_point = z / threshold
        u_var = burst / (sig * c["variance_ratio"]) if bweight >= BURST_MIN_WEIGHT else 0.0
        elapsed = t - t0
        drift_on = elapsed >= c["drift_after_s"] * 1000.0 and n >= DRIFT_AFTER_SAMPLES
        base_pred = base + trend * dt
        e = level - base_pred
        d_floor = DRIFT_FLOOR * sig
        d_sig = ddev if ddev >= d_floor else d_floor
        u_drift = abs(e) / (d_sig * c["drift_threshold"]) if drift_on else 0.0
        u = u_point
        log_u = math.log(u if u >= CAL_U_FLOOR else CAL_U_FLOOR)
        excess = log_u - cal_q
        beta = cal_beta if cal_beta >= CAL_BETA_MIN else CAL_BETA_MIN
        u_cal = _exp(excess / (beta * CAL_TARGET_DECADES) - 1.0)
        low_u = u if u <= u_cal else u_cal
        room = 1.0 - repeat
        if not room >= 1e-9:
            room = 1e-9
        widen = (1.0 - SPARSE_REPEAT) / room
        if not widen >= 1.0:
            widen = 1.0
        if widen > SPARSE_RAISE:
            widen = SPARSE_RAISE
        raised = u / (CAL_MAX_RAISE * widen)
        u_point = low_u if low_u >= raised else raised
        u = u_point if u_point >= u_var else u_var
        if u_drift > u:
            u = u_drift
        alarmed = u * sens >= 1.0 and warm
        run = run + 1.0 if alarmed else 0.0
        if run > FLAG_RUN:  # flagged at its onset only
            cap_u = 0.99 / sens
            if cap_u < u:
                u = cap_u
        score = _squash(u * sens)
        half = threshold * sig / sens
        low, high = pred - half, pred + half

        clip = c["clip"]
        lim = clip * sig if warm else _INF
        level += a_level * (-lim if r < -lim else (lim if r > lim else r))
        y = x - s_t
        gap = y - base_pred
        r_base = -lim if gap < -lim else (lim if gap > lim else gap)
        base = base_pred + a_base * r_base
        slope_obs = decay[1] / (dt if dt >= 1.0 else 1.0) * r_base
        if warm:
            trend += decay[4] * slope_obs
        cap = 2.0 * clip * sig if warm else _INF
        clipped_abs = abs_r if abs_r <= cap else cap
        scale += a_scale * (clipped_abs - scale)
        weight = bweight * math.exp(-dt * rates[3]) + 1.0
        bweight = weight
        burst += (clipped_abs - burst) / weight
        a = a_tail * TAIL_GAIN
        a_q = a if a <= 0.25 else 0.25
        q = c["tail_quantile"]
        if warm:
            tail_log += a_q * ((q if z > tail else 0.0) - (1.0 - q))
        over = warm and excess > 0.0
        if warm:
            cal_q += a_q * ((CAL_QUANTILE if over else 0.0) - (1.0 - CAL_QUANTILE))
        if over:
            gain = 1.0 / (cal_n + 2.0)
            if gain < CAL_BETA_GAIN:
                gain = CAL_BETA_GAIN
            cal_beta += gain * (
                (excess if excess <= CAL_EXCESS_CLIP else CAL_EXCESS_CLIP) - cal_beta
            )
            cal_n += 1.0
        e = abs(level - base)
        if warm:
            d_lim = DRIFT_CLIP * (ddev if ddev >= d_floor else d_floor)
            if d_lim < e:
                e = d_lim
        learning = elapsed - DEV_START * c["drift_after_s"] * 1000.0
        later = learning + dt
        a_dev = dt / (later if later >= 1.0 else 1.0)
        if decay[5] >= a_dev:
            a_dev = decay[5]
        ddev = ddev + a_dev * (e - ddev) if warm and learning > 0.0 else sig

        gap = y - anchor
        anchor += a_period * (-lim if gap < -lim else (lim if gap > lim else gap))
        periods = elapsed / p.period
        if not periods >= SEASON_FLOOR:
            periods = SEASON_FLOOR
        if periods > c["season_periods"]:
            periods = c["season_periods"]
        a = -math.expm1(-dt / (p.bucket_ms * periods))
        gap = x - anchor - s_t
        g = a * (-lim if gap < -lim else (lim if gap > lim else gap))
        season[b0] += g * (1.0 - w1)
        season[b1] += g * w1
        if elapsed >= p.period:
            mean = _sum(season) / len(season)
            season = [s - mean for s in season]

        flat_so_far = res == 0.0
        step_abs = abs(x - prev)
        if n > 0.0 and step_abs > 0.0:
            res = (res if res <= step_abs else step_abs) if res > 0.0 else step_abs
        if n > 0.0:
            repeat += a_scale * ((1.0 if x == prev else 0.0) - repeat)
        prev = x
        if run == ACCEPT_AFTER or (alarmed and flat_so_far):
            level = base = anchor = y
            trend = 0.0
            wide = abs_r / threshold
            if burst > wide:
                wide = burst
            if wide > scale:
                scale = wide
            if sig > ddev:
                ddev = sig
        head = [
            t0, level, base, scale, burst, trend, ddev, bweight, tail_log, anchor,
            prev, res, spacing, run, cal_q, cal_beta, cal_n, repeat,
        ]  # fmt: skip
        state[:] = head + season
        if not all(map(math.isfinite, state)):  # only absurd inputs get here
            state[:] = [finite(v) for v in state]
        return score, low, high


def _sum(values: list[float]) -> float:
    """numpy's sum of a short row, to the bit: eight interleaved partial sums, added pairwise
    (numpy's pairwise summation below its 128-value block), or a plain loop under eight values."""
    n = len(values)
    if n < 8:
        total = -0.0
        for v in values:
            total += v
        return total
    r = values[:8]
    i = 8
    while i + 8 <= n:
        for j in range(8):
            r[j] += values[i + j]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        total += values[i]
        i += 1
    return total


_STEPS: dict[str, Any] = {"robust": OPTIONS, "none": {}}


def _stepper(choice: Choice) -> _Step:
    sensitivity, warmup, config = check_options(
        choice.detector,
        _STEPS[choice.detector],
        choice.sensitivity,
        choice.warmup,
        dict(choice.options),
    )
    if choice.detector == "none":
        return _NoneStep()
    return _RobustStep(sensitivity, warmup, config)


class SeriesStream:
    """One series through one built-in detector: what a :class:`~.bank.DetectorBank` does for
    each of its series (sample count, time order, warm-up, flag, snapshot), on floats."""

    def __init__(self, choice: Choice) -> None:
        self._step = _stepper(choice)
        self.detector = choice.detector
        self.warmup = choice.warmup
        self.state = [0.0] * self._step.state_size
        self.seen = 0
        self.last = 0

    def push(self, t: int, x: float) -> tuple[float, float, float, bool]:
        """``(score, low, high, flagged)`` of the next point, at epoch ms ``t``, value ``x``."""
        seen, last = self.seen, self.last
        x = -VALUE_LIMIT if x < -VALUE_LIMIT else (VALUE_LIMIT if x > VALUE_LIMIT else x)
        dt = float(t - last if t > last else 0) if seen > 0 else 0.0
        score, low, high = self._step(self.state, float(t), dt, float(seen), x)
        if seen < self.warmup:
            score = 0.0
        self.seen = seen + 1
        self.last = (t if t > last else last) if seen > 0 else t
        return score, low, high, score >= FLAG_SCORE

    def snapshot(self) -> bytes:
        """The state as a snapshot the hub's bank restores too (and the other way round)."""
        return pack(self._step.name, self.seen, self.last, body_of(self.state))

    def restore(self, blob: bytes) -> None:
        """Continue from a snapshot; SnapshotError if it is corrupt or does not fit."""
        seen, last, body = unpack(blob, self._step.name, self._step.state_size)
        self.state = floats(body)
        self.seen, self.last = seen, last


def open_stream(section: Mapping[str, Any] | None, metric: str = "") -> SeriesStream | None:
    """The stream of ``metric`` under an ``[anomaly]`` table, validated as the engine would
    (SettingsError naming the key), or None if the table names a detector with no scalar step
    (a plugin's): the caller then runs the engine."""
    config: AnomalyConfig = parse(section)
    choices = [config.default, *(choice for _, choice in config.rules)]
    if any(choice.detector not in _STEPS for choice in choices):
        return None
    for choice in choices:  # every configured choice, so a typo fails at start
        _stepper(choice)
    return SeriesStream(config.choose(metric))


__all__ = ["BIG", "SeriesStream", "open_stream"]
