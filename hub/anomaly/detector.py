"""What a detector is: a small class that scores one step of many series at once, with numpy.

A detector never sees Python objects per sample. The :class:`~hostpulse.hub.anomaly.bank.DetectorBank`
keeps each series' state as one row of a float64 matrix and calls :meth:`Detector.step` once
per point index of a batch, with the rows of every series that has a point at that index. So a
batch of 2,000 series x 5 points costs five vectorised calls, not 10,000 Python ones.

The bank owns what every detector needs and no detector should redo: the sample count (for the
cold start), the last timestamp (so ``dt`` is never negative, whatever order samples arrive in),
flags (``score >= 0.5``), snapshots and slot bookkeeping.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hostpulse.hub.anomaly.options import FLAG_SCORE, check_options

__all__ = ["FLAG_SCORE", "Detector", "FloatArray", "squash"]

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


class Detector:
    """Base class of every detector plugin. Subclass it, set the class attributes, write ``step``.

    ``options`` maps each option name to its default; values come from a rule of the hub's
    ``[anomaly]`` config and are coerced to the default's type. ``sensitivity`` (> 0, default 1)
    and ``warmup`` (samples before any alarm) are common to all detectors and handled here.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, sensitivity: float = 1.0, warmup: int = 60, **options: Any) -> None:
        self.sensitivity, self.warmup, self.config = check_options(
            self.name, self.options, sensitivity, warmup, options
        )

    @property
    def state_size(self) -> int:
        """Number of float64 values of state per series; constant for a given configuration."""
        raise NotImplementedError

    def initial_state(self, count: int) -> FloatArray:
        """State rows of ``count`` series that have seen nothing (row 0 of their lives)."""
        return np.zeros((count, self.state_size), dtype=np.float64)

    def step(
        self, state: FloatArray, t: FloatArray, dt: FloatArray, n: FloatArray, x: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Score one point of each of ``len(x)`` series and update their ``state`` rows in place.

        ``t`` is the point's epoch ms, ``dt`` the ms since the series' latest earlier point (0 for
        the first point, for duplicates and for out-of-order points), ``n`` how many points the
        series has seen before this one, ``x`` the finite value. Return ``(score, low, high)``:
        score in [0, 1] (flagged at 0.5 and above) and the expected band at that moment.
        The bank zeroes the score while ``n < warmup``; it must stay finite whatever ``x`` is.
        """
        raise NotImplementedError


def squash(u: FloatArray, power: float = 4.0) -> FloatArray:
    """Map a ratio ``u >= 0`` (1 = at the alarm threshold) to a score in [0, 1]: 1 -> 0.5.

    Written as 1 / (1 + u^-p) so that u = 0 gives 0 and u = inf gives 1 without inf/inf.
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        score = 1.0 / (1.0 + np.power(u, -power))
    # Only a NaN u (a detector's bug) can give NaN here: no evidence, no alarm.
    return np.where(np.isnan(score), 0.0, score)
