"""``[[alerts.rules]]`` and ``[[alerts.notifiers]]``: parsed and validated once at start.

Every error is a :class:`~hostpulse.hub.errors.SettingsError` naming the key (``alerts.rules[2].for``),
the value and what was expected, so a bad rule stops the hub before it serves anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import translate
from types import MappingProxyType
from typing import Any

from hostpulse.hub.errors import SettingsError

RULE_KINDS = ("threshold", "anomaly", "host_down", "absent")
NOTIFIER_KINDS = ("webhook", "email", "alertmanager", "apprise")
#: The kinds this hub can send today; the others are refused at start rather than failing later.
BUILT_NOTIFIER_KINDS = NOTIFIER_KINDS
OVER = ("last", "avg", "max", "min")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_NO_LABELS: Mapping[str, str] = MappingProxyType({})


def parse_duration_ms(key: str, raw: Any) -> int:
    """``"90s"``, ``"5m"``, ``"1h"`` (or a number of seconds) as milliseconds."""
    if isinstance(raw, bool):
        raise SettingsError(key, raw, 'a duration such as "30s", "5m" or "1h"')
    if isinstance(raw, int | float) and raw >= 0:
        return int(raw * 1000)
    match = _DURATION.match(raw) if isinstance(raw, str) else None
    if not match:
        raise SettingsError(key, raw, 'a duration such as "30s", "5m" or "1h"')
    return int(float(match[1]) * _UNIT_MS[match[2]])


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: str
    metric: str = "*"
    labels: Mapping[str, str] = field(default_factory=dict)
    host: str = "*"
    host_labels: Mapping[str, str] = field(default_factory=dict)
    over: str = "last"
    window_ms: int = 0
    warning: float | None = None
    critical: float | None = None
    #: Hysteresis: a firing threshold alert resolves only once the value is past this level
    #: (below it for an upper bound). Defaults to the lowest firing level, i.e. no hysteresis.
    clear: float | None = None
    for_ms: int = 0
    #: anomaly: ``flags`` of the last ``points`` flagged, or the score ≥ ``score`` for ``for``.
    flags: int = 1
    points: int = 1
    score: float | None = None
    #: host_down / absent: silence longer than this. None for host_down follows the host's
    #: collection interval (see :func:`hostpulse.hub.alerts.evaluator.silence_limit_ms`).
    after_ms: int | None = None
    #: A firing alert is sent again every repeat_ms (0: never) until it resolves.
    repeat_ms: int = 0
    notify: tuple[str, ...] = ()
    #: The lowest firing level of a threshold rule (inf without one): below it, nothing to do.
    lowest: float = float("inf")
    metric_re: re.Pattern[str] = field(default=re.compile(".*"), compare=False, repr=False)
    host_re: re.Pattern[str] = field(default=re.compile(".*"), compare=False, repr=False)

    def selects(
        self,
        host: str,
        metric: str,
        labels: Mapping[str, str],
        host_labels: Mapping[str, str] = _NO_LABELS,
    ) -> bool:
        """Whether this rule watches the series ``metric`` ``labels`` of ``host``, whose labels
        are ``host_labels``: the one matcher of the hub, the evaluator's and the dashboard's
        levels' (GET /api/v1/alerts/levels). Called once per series, not per sample."""
        return (
            self.metric_re.match(metric) is not None
            and all(labels.get(k) == v for k, v in self.labels.items())
            and self.selects_host(host, host_labels)
        )

    def selects_host(self, host: str, host_labels: Mapping[str, str] = _NO_LABELS) -> bool:
        """Whether the rule's ``host`` pattern and ``host_labels`` take this host."""
        return self.host_re.match(host) is not None and all(
            host_labels.get(k) == v for k, v in self.host_labels.items()
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "metric": self.metric,
            "labels": dict(self.labels), "host": self.host, "over": self.over,
            "window_ms": self.window_ms, "warning": self.warning, "critical": self.critical,
            "clear": self.clear, "for_ms": self.for_ms, "after_ms": self.after_ms,
            "notify": list(self.notify),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notifier:
    name: str
    kind: str
    options: Mapping[str, Any]

    def __repr__(self) -> str:  # secrets never reach logs
        shown = {k: ("***" if k in ("secret", "password") else v) for k, v in self.options.items()}
        return f"Notifier({self.name!r}, {self.kind!r}, {shown!r})"


@dataclass(frozen=True, slots=True)
class Route:
    """``[[alerts.routes]]``: alerts of these rules (any if empty), severity, host glob and labels
    also go to ``notify``, beside each rule's own ``notify``."""

    notify: tuple[str, ...]
    rules: tuple[str, ...] = ()
    severity: str = ""
    host: str = "*"
    labels: Mapping[str, str] = field(default_factory=dict)
    host_re: re.Pattern[str] = field(default=re.compile(".*"), compare=False, repr=False)

    def takes(self, rule: str, severity: str, host: str, labels: Mapping[str, str]) -> bool:
        return (
            (not self.rules or rule in self.rules)
            and (not self.severity or severity == self.severity)
            and self.host_re.match(host) is not None
            and all(labels.get(k) == v for k, v in self.labels.items())
        )


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    rules: tuple[Rule, ...]
    notifiers: Mapping[str, Notifier]
    routes: tuple[Route, ...] = ()

    def targets(
        self, rule: Rule | None, severity: str, host: str, labels: Mapping[str, str]
    ) -> tuple[str, ...]:
        """The notifiers an alert goes to: its rule's, then each matching route's, once each."""
        out = list(rule.notify) if rule else []
        for route in self.routes:
            if route.takes(rule.name if rule else "", severity, host, labels):
                out += [n for n in route.notify if n not in out]
        return tuple(out)


#: Out of the box, matching what the dashboard draws: host down, disk ≥ 85/95 %,
#: memory ≥ 90/95 % for 5 min, CPU ≥ 90 % for 10 min.
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "host_down", "kind": "host_down"},
    {"name": "disk_full", "kind": "threshold", "metric": "disk.percent",
     "warning": 85, "critical": 95, "for": "0s"},
    {"name": "memory_high", "kind": "threshold", "metric": "mem.percent",
     "warning": 90, "critical": 95, "for": "5m"},
    {"name": "cpu_high", "kind": "threshold", "metric": "cpu.percent",
     "critical": 90, "for": "10m"},
)  # fmt: skip

_RULE_KEYS = {
    "name", "kind", "metric", "labels", "host", "host_labels", "over", "window", "warning",
    "critical", "clear", "for", "flags", "points", "score", "after", "notify", "repeat",
}  # fmt: skip


def parse_alerts(table: Mapping[str, Any]) -> AlertsConfig:
    """Validate an ``[alerts]`` table. ``defaults = false`` drops the built-in rules."""
    if not isinstance(table, Mapping):
        raise SettingsError("alerts", table, "a table")
    unknown = set(table) - {"rules", "notifiers", "defaults", "routes"}
    if unknown:
        raise SettingsError(
            f"alerts.{min(unknown)}", table[min(unknown)], "rules, notifiers, routes or defaults"
        )
    notifiers: dict[str, Notifier] = {}
    for i, raw in enumerate(_tables(table, "notifiers")):
        notifier = _notifier(f"alerts.notifiers[{i}]", raw)
        if notifier.name in notifiers:
            raise SettingsError(f"alerts.notifiers[{i}].name", notifier.name, "a unique name")
        notifiers[notifier.name] = notifier
    user = [
        _rule(f"alerts.rules[{i}]", raw, notifiers) for i, raw in enumerate(_tables(table, "rules"))
    ]
    names = {r.name for r in user}
    if len(names) != len(user):
        seen: set[str] = set()
        for i, r in enumerate(user):
            if r.name in seen:
                raise SettingsError(f"alerts.rules[{i}].name", r.name, "a unique name")
            seen.add(r.name)
    defaults = table.get("defaults", True)
    if not isinstance(defaults, bool):
        raise SettingsError("alerts.defaults", defaults, "true or false")
    # A user's rule of the same name replaces the default one.
    builtin = (
        [_rule(f"default rule {d['name']}", d, notifiers) for d in DEFAULT_RULES]
        if defaults
        else []
    )
    rules = [r for r in builtin if r.name not in names] + user
    known_rules = {r.name for r in rules}
    routes = tuple(
        _route(f"alerts.routes[{i}]", raw, notifiers, known_rules)
        for i, raw in enumerate(_tables(table, "routes"))
    )
    return AlertsConfig(tuple(rules), notifiers, routes)


def _route(
    at: str, raw: Mapping[str, Any], notifiers: Mapping[str, Notifier], rules: set[str]
) -> Route:
    unknown = set(raw) - {"notify", "rules", "severity", "host", "labels"}
    if unknown:
        raise SettingsError(
            f"{at}.{min(unknown)}", raw[min(unknown)], "notify, rules, severity, host or labels"
        )
    notify = raw.get("notify")
    if not (isinstance(notify, list) and notify and all(n in notifiers for n in notify)):
        known = ", ".join(sorted(notifiers)) or "none configured"
        raise SettingsError(
            f"{at}.notify", notify, f"a list of [[alerts.notifiers]] names ({known})"
        )
    chosen = raw.get("rules", [])
    if not (isinstance(chosen, list) and all(r in rules for r in chosen)):
        raise SettingsError(f"{at}.rules", chosen, "a list of rule names")
    severity = raw.get("severity", "")
    if severity not in ("", "warning", "critical"):
        raise SettingsError(f"{at}.severity", severity, "warning | critical")
    host = raw.get("host", "*")
    return Route(
        notify=tuple(notify), rules=tuple(chosen), severity=severity, host=host,
        labels=_labels(f"{at}.labels", raw.get("labels")), host_re=_glob(f"{at}.host", host),
    )  # fmt: skip


def _tables(table: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    raw = table.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(t, Mapping) for t in raw):
        raise SettingsError(f"alerts.{key}", raw, f"an array of tables ([[alerts.{key}]])")
    return raw


def _str(key: str, raw: Any, default: str | None = None) -> str:
    if raw is None and default is not None:
        return default
    if not isinstance(raw, str) or not raw:
        raise SettingsError(key, raw, "a non-empty string")
    return raw


def _number(key: str, raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise SettingsError(key, raw, "a number")
    return float(raw)


def _labels(key: str, raw: Any) -> dict[str, str]:
    raw = {} if raw is None else raw
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise SettingsError(key, raw, "a table of label = string")
    return dict(raw)


def _glob(key: str, pattern: str) -> re.Pattern[str]:
    """A glob (``disk.*``), or a regular expression when written ``~regex``."""
    try:
        return re.compile(pattern[1:] + r"\Z" if pattern.startswith("~") else translate(pattern))
    except re.error as exc:
        raise SettingsError(key, pattern, f"a glob or ~regular expression ({exc})") from None


def _rule(at: str, raw: Mapping[str, Any], notifiers: Mapping[str, Notifier]) -> Rule:
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise SettingsError(
            f"{at}.{min(unknown)}", raw[min(unknown)], f"one of {', '.join(sorted(_RULE_KEYS))}"
        )
    name = _str(f"{at}.name", raw.get("name"))
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        raise SettingsError(f"{at}.kind", kind, " | ".join(RULE_KINDS))
    metric = _str(f"{at}.metric", raw.get("metric"), "*")
    host = _str(f"{at}.host", raw.get("host"), "*")
    over = raw.get("over", "last")
    if over not in OVER:
        raise SettingsError(f"{at}.over", over, " | ".join(OVER))
    window_ms = parse_duration_ms(f"{at}.window", raw["window"]) if "window" in raw else 0
    if over != "last" and window_ms <= 0:
        raise SettingsError(
            f"{at}.window", raw.get("window"), f'a duration > 0 with over = "{over}"'
        )
    warning = _number(f"{at}.warning", raw.get("warning"))
    critical = _number(f"{at}.critical", raw.get("critical"))
    clear = _number(f"{at}.clear", raw.get("clear"))
    if kind == "threshold":
        if warning is None and critical is None:
            raise SettingsError(
                f"{at}.critical", None, "a warning and/or critical level for a threshold rule"
            )
        if warning is not None and critical is not None and warning > critical:
            raise SettingsError(
                f"{at}.warning", warning, f"a level not above critical ({critical})"
            )
        lowest = min(x for x in (warning, critical) if x is not None)
        if clear is not None and clear > lowest:
            raise SettingsError(
                f"{at}.clear", clear, f"a level not above the lowest firing level ({lowest})"
            )
    flags = raw.get("flags", 1)
    points = raw.get("points", flags)
    if not (isinstance(flags, int) and isinstance(points, int) and 1 <= flags <= points <= 1000):
        raise SettingsError(f"{at}.flags", flags, "an integer N with 1 <= N <= points <= 1000")
    notify = raw.get("notify", [])
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        raise SettingsError(f"{at}.notify", notify, "a list of notifier names")
    for n in notify:
        if n not in notifiers:
            known = ", ".join(sorted(notifiers)) or "none configured"
            raise SettingsError(f"{at}.notify", n, f"a name of [[alerts.notifiers]] ({known})")
    return Rule(
        name=name, kind=kind, metric=metric, host=host, over=over, window_ms=window_ms,
        labels=_labels(f"{at}.labels", raw.get("labels")),
        host_labels=_labels(f"{at}.host_labels", raw.get("host_labels")),
        warning=warning, critical=critical, clear=clear,
        for_ms=parse_duration_ms(f"{at}.for", raw.get("for", "0s")),
        flags=flags, points=points, score=_number(f"{at}.score", raw.get("score")),
        after_ms=parse_duration_ms(f"{at}.after", raw["after"]) if "after" in raw else None,
        repeat_ms=parse_duration_ms(f"{at}.repeat", raw.get("repeat", 0)),
        notify=tuple(notify),
        lowest=min((x for x in (warning, critical) if x is not None), default=float("inf")),
        metric_re=_glob(f"{at}.metric", metric), host_re=_glob(f"{at}.host", host),
    )  # fmt: skip


def _notifier(at: str, raw: Mapping[str, Any]) -> Notifier:
    name = _str(f"{at}.name", raw.get("name"))
    kind = raw.get("kind")
    if kind not in NOTIFIER_KINDS:
        raise SettingsError(f"{at}.kind", kind, " | ".join(NOTIFIER_KINDS))
    if kind not in BUILT_NOTIFIER_KINDS:
        raise SettingsError(
            f"{at}.kind",
            kind,
            f"{' | '.join(BUILT_NOTIFIER_KINDS)} (the {kind} notifier is not built yet)",
        )
    options = {k: v for k, v in raw.items() if k not in ("name", "kind")}
    if kind in ("webhook", "alertmanager"):
        url = options.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SettingsError(f"{at}.url", url, "an http:// or https:// URL")
    if kind == "email":
        _email_options(at, options)
    if kind == "apprise":
        urls = options.get("urls")
        if not (
            isinstance(urls, list) and urls and all(isinstance(u, str) and "://" in u for u in urls)
        ):
            raise SettingsError(f"{at}.urls", urls, 'a list of Apprise URLs such as "ntfy://topic"')
    if "secret" in options and not isinstance(options["secret"], str):
        raise SettingsError(f"{at}.secret", "***", "a string")
    return Notifier(name, kind, options)


def _email_options(at: str, options: Mapping[str, Any]) -> None:
    if not isinstance(options.get("host"), str) or not options["host"]:
        raise SettingsError(f"{at}.host", options.get("host"), "the SMTP server's host name")
    if not isinstance(options.get("from"), str) or "@" not in options["from"]:
        raise SettingsError(f"{at}.from", options.get("from"), "a sender address")
    to = options.get("to")
    if not (isinstance(to, list) and to and all(isinstance(a, str) and "@" in a for a in to)):
        raise SettingsError(f"{at}.to", to, "a list of recipient addresses")
    if options.get("security", "starttls") not in ("starttls", "tls", "none"):
        raise SettingsError(f"{at}.security", options.get("security"), "starttls | tls | none")
    port = options.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise SettingsError(f"{at}.port", port, "a TCP port number")
