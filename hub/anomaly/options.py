"""Checking a detector's settings (the common ``sensitivity`` and ``warmup``, and its own options),
and the two numbers every path of detection obeys: the flag score and the value clamp.

Kept apart from :mod:`.detector` and free of numpy, so that ``hostpulse detect`` can validate a
configuration exactly as the hub does without paying numpy's import (100-140 ms on the shared
2-core machine, most of the command's start-up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hostpulse.hub.errors import SettingsError

#: A point is flagged when its score reaches this; detectors scale their statistics to it.
FLAG_SCORE = 0.5
#: Values are clamped to +-this before any detector sees them, so none can overflow on
#: differences or products of two values.
VALUE_LIMIT = 1e150


def check_options(
    name: str,
    defaults: Mapping[str, Any],
    sensitivity: Any,
    warmup: Any,
    options: Mapping[str, Any],
) -> tuple[float, int, dict[str, Any]]:
    """``(sensitivity, warmup, config)`` of detector ``name``; ``config`` holds every option of
    ``defaults``, each given value coerced to its default's type. SettingsError names the key."""
    where = f"anomaly.detectors.{name}"
    checked_sensitivity = _positive(f"{where}.sensitivity", sensitivity)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SettingsError(f"{where}.warmup", warmup, "a whole number of samples >= 0")
    for key, value in options.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise SettingsError(f"{where}.{key}", value, f"one of the known options ({known})")
    config: dict[str, Any] = {}
    for key, default in defaults.items():
        value = options.get(key, default)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not type(default):
            raise SettingsError(f"{where}.{key}", value, f"a {type(default).__name__}")
        config[key] = value
    return checked_sensitivity, warmup, config


def _positive(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise SettingsError(key, value, "a number > 0")
    if not math.isfinite(value):
        raise SettingsError(key, value, "a finite number > 0")
    return float(value)
