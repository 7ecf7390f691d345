"""The hub's ``[anomaly]`` config section: which detector, how sensitive, per metric pattern.

    [anomaly]
    enabled = true          # false: every series gets the "none" detector
    detector = "robust"     # default detector
    sensitivity = 1.0       # > 1 flags more, < 1 fewer (divides every threshold)
    warmup = 60             # samples a series must have seen before it can be flagged

    [anomaly.options.robust]    # default options of a detector
    threshold = 6.0

    builtin_rules = true    # append the built-in rules (net.* and *_per_s on a log scale)

    [[anomaly.rules]]       # first rule whose pattern matches the metric name wins
    metric = "net.*"        # fnmatch pattern
    sensitivity = 0.8       # any of detector / sensitivity / warmup / options; the rest inherited
    options = { threshold = 8.0 }

Every mistake raises :class:`hostpulse.hub.errors.SettingsError` naming the key, the value and what was
expected, when the hub starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from hostpulse.hub.errors import SettingsError

_TOP_KEYS = {"enabled", "detector", "sensitivity", "warmup", "options", "rules", "builtin_rules"}
# Appended after the user's rules (so any user rule wins) unless builtin_rules = false: rates of
# bytes and packets have noise proportional to their level, which a log scale makes even.
BUILTIN_RULES: list[dict[str, Any]] = [
    {"metric": "net.*", "options": {"transform": "log"}},
    {"metric": "*_per_s", "options": {"transform": "log"}},
]
_RULE_KEYS = {"metric", "detector", "sensitivity", "warmup", "options"}


@dataclass(frozen=True, slots=True)
class Choice:
    """What runs on one series: a detector name and its settings."""

    detector: str
    sensitivity: float = 1.0
    warmup: int = 60
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(slots=True)
class AnomalyConfig:
    enabled: bool = True
    default: Choice = field(default_factory=lambda: Choice("robust"))
    rules: list[tuple[str, Choice]] = field(default_factory=list)

    def choose(self, metric: str) -> Choice:
        """The detector settings of a metric: first matching rule, else the default."""
        if not self.enabled:
            return Choice("none", warmup=0)
        for pattern, choice in self.rules:
            if fnmatchcase(metric, pattern):
                return choice
        return self.default


def parse(section: Mapping[str, Any] | None) -> AnomalyConfig:
    """Validate the ``[anomaly]`` table (a dict from TOML) into an :class:`AnomalyConfig`."""
    section = dict(section or {})
    _known("anomaly", section, _TOP_KEYS)
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise SettingsError("anomaly.enabled", enabled, "true or false")
    per_detector = section.get("options", {})
    if not isinstance(per_detector, Mapping) or not all(
        isinstance(v, Mapping) for v in per_detector.values()
    ):
        raise SettingsError("anomaly.options", per_detector, "a table of tables, one per detector")
    default = _choice("anomaly", section, None, per_detector)
    rules_in = section.get("rules", [])
    if not isinstance(rules_in, list):
        raise SettingsError("anomaly.rules", rules_in, "an array of tables ([[anomaly.rules]])")
    builtin = section.get("builtin_rules", True)
    if not isinstance(builtin, bool):
        raise SettingsError("anomaly.builtin_rules", builtin, "true or false")
    if builtin:
        rules_in = [*rules_in, *(r for r in BUILTIN_RULES if default.detector == "robust")]
    rules: list[tuple[str, Choice]] = []
    for i, rule in enumerate(rules_in):
        where = f"anomaly.rules[{i}]"
        if not isinstance(rule, Mapping):
            raise SettingsError(where, rule, "a table")
        _known(where, rule, _RULE_KEYS)
        pattern = rule.get("metric")
        if not isinstance(pattern, str) or not pattern:
            raise SettingsError(f"{where}.metric", pattern, "an fnmatch pattern such as 'cpu.*'")
        rules.append((pattern, _choice(where, rule, default, per_detector)))
    return AnomalyConfig(enabled=enabled, default=default, rules=rules)


def _choice(
    where: str, table: Mapping[str, Any], parent: Choice | None, per_detector: Mapping[str, Any]
) -> Choice:
    detector = table.get("detector", parent.detector if parent else "robust")
    if not isinstance(detector, str) or not detector:
        raise SettingsError(f"{where}.detector", detector, "a detector name such as 'robust'")
    sensitivity = table.get("sensitivity", parent.sensitivity if parent else 1.0)
    if (
        isinstance(sensitivity, bool)
        or not isinstance(sensitivity, int | float)
        or not (0 < sensitivity < float("inf"))
    ):
        raise SettingsError(f"{where}.sensitivity", sensitivity, "a number > 0")
    warmup = table.get("warmup", parent.warmup if parent else 60)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SettingsError(f"{where}.warmup", warmup, "a whole number of samples >= 0")
    options = dict(per_detector.get(detector, {}))
    own = table.get("options", {}) if parent is not None else {}
    if not isinstance(own, Mapping):
        raise SettingsError(f"{where}.options", own, "a table of detector options")
    options.update(own)
    return Choice(detector, float(sensitivity), warmup, tuple(sorted(options.items())))


def _known(where: str, table: Mapping[str, Any], keys: set[str]) -> None:
    for key, value in table.items():
        if key not in keys:
            expected = f"one of the known keys ({', '.join(sorted(keys))})"
            raise SettingsError(f"{where}.{key}", value, expected)
