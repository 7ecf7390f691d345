"""Rules evaluated as batches are committed, and host-down/absent rules on a timer.

Cost per ingested batch is O(series × rules that select them): each new series is matched against
every rule's globs once (:meth:`Evaluator.observe` caches the rule indices per series id), after
which a sample costs a dict lookup and a comparison per selecting rule. A threshold is judged at each
block's newest point (an agent's batch spans its batching interval, a few seconds at most); window
rules (avg/max/min) keep the window's points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from hostpulse.hub.alerts.config import Rule
from hostpulse.hub.alerts.states import FIRING, INACTIVE, PENDING, RESOLVED, Instance, Transition

#: host_down without ``after``: silent for this many of the host's collection intervals …
HOST_DOWN_INTERVALS = 3
#: … but never less than this, so one late batch of a 1 s agent is not an outage.
HOST_DOWN_MIN_MS = 30_000


@dataclass(frozen=True, slots=True)
class SeriesRef:
    """What the evaluator needs to know of a series (a SeriesInfo satisfies it)."""

    id: int
    host: str
    metric: str
    labels: dict[str, str]


def silence_limit_ms(rule: Rule, interval_ms: int) -> int:
    """How long a host (or series) may be silent before a host_down (absent) rule holds."""
    if rule.after_ms is not None:
        return rule.after_ms
    return max(HOST_DOWN_INTERVALS * interval_ms, HOST_DOWN_MIN_MS)


class Evaluator:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._series_rules: dict[int, tuple[int, ...]] = {}
        self._series: dict[int, SeriesRef] = {}
        self._pairs: dict[int, list[tuple[Rule, Instance]]] = {}
        self.instances: dict[tuple[str, str, int | None], Instance] = {}
        #: host → (newest sample ts, its collection interval estimate in ms)
        self.hosts: dict[str, tuple[int, int]] = {}
        self._series_seen: dict[int, tuple[int, int]] = {}
        self._timer_rules = [
            i for i, r in enumerate(self.rules) if r.kind in ("host_down", "absent")
        ]
        #: series id -> the lowest level of its rules when every one is a threshold on ``last``
        #: (None otherwise): below it, with no instance pending or firing, a batch costs one
        #: comparison for the series instead of one pass per rule.
        self._quiet_below: dict[int, float | None] = {}
        #: series id -> how many of its instances are pending or firing.
        self._active: dict[int, int] = {}

    def restore(self, instances: Iterable[Instance]) -> None:
        """Take back the pending/firing instances stored before a restart (no new transition)."""
        for inst in instances:
            self.instances[inst.key] = inst
            if inst.series_id is not None and inst.state in (PENDING, FIRING):
                self._active[inst.series_id] = self._active.get(inst.series_id, 0) + 1

    def _rules_of(self, ref: SeriesRef) -> tuple[int, ...]:
        found = self._series_rules.get(ref.id)
        if found is None:
            found = tuple(
                i for i, r in enumerate(self.rules)
                if r.kind in ("threshold", "anomaly", "absent")
                and r.selects(ref.host, ref.metric, ref.labels)
            )  # fmt: skip
            self._series_rules[ref.id] = found
            self._series[ref.id] = ref
        return found

    def observe(
        self,
        refs: Sequence[SeriesRef],
        ts: Sequence[np.ndarray],
        values: Sequence[np.ndarray],
        flagged: Iterable[tuple[int, int]] = (),
    ) -> list[Transition]:
        """One committed group: per series, its timestamps and values, and the (series id, ts)
        points the anomaly detector flagged. Returns the transitions it caused."""
        out: list[Transition] = []
        flags: dict[int, set[int]] = {}
        for sid, flagged_ts in flagged:
            flags.setdefault(sid, set()).add(flagged_ts)
        for ref, t, v in zip(refs, ts, values, strict=True):
            if not len(t):
                continue
            newest = int(t[-1])
            self._note_seen(ref, t)
            pairs = self._pairs.get(ref.id)
            if pairs is None:  # first sight: resolve the rules and their instances once
                pairs = [
                    (self.rules[i], self._instance(self.rules[i], ref)) for i in self._rules_of(ref)
                ]
                self._pairs[ref.id] = pairs
                last_only = pairs and all(
                    r.kind == "threshold" and r.over == "last" for r, _ in pairs
                )
                self._quiet_below[ref.id] = min(r.lowest for r, _ in pairs) if last_only else None
            below = self._quiet_below.get(ref.id)
            if below is not None and v[-1] < below and not self._active.get(ref.id):
                continue  # the common case: quiet under every rule and staying quiet
            for rule, inst in pairs:
                if rule.kind == "absent":
                    self._judge(rule, ref, None, newest, False, out)
                    continue
                if rule.kind == "threshold":
                    value = self._aggregate(rule, inst, t, v)
                    if value < rule.lowest and inst.state in (INACTIVE, RESOLVED):
                        inst.value = value  # the common case: quiet and staying quiet
                        continue
                    self._judge(rule, ref, value, newest, None, out)
                else:
                    mine = flags.get(ref.id, set())
                    inst.flags.extend(int(x) in mine for x in t[-rule.points :])
                    del inst.flags[: max(0, len(inst.flags) - rule.points)]
                    holds = sum(inst.flags) >= rule.flags
                    self._judge(rule, ref, float(v[-1]), newest, holds, out)
        return out

    def tick(self, now_ms: int) -> list[Transition]:
        """Host-down and absent rules: who has been silent too long (run on a timer)."""
        out: list[Transition] = []
        for i in self._timer_rules:
            rule = self.rules[i]
            if rule.kind == "host_down":
                for host, (last, interval) in self.hosts.items():
                    if rule.host_re.match(host) is None:
                        continue
                    ref = SeriesRef(-1, host, "", {})
                    down = now_ms - last > silence_limit_ms(rule, interval)
                    self._judge(
                        rule, ref, (now_ms - last) / 1000, now_ms, down, out, host_level=True
                    )
            else:
                for sid, (last, interval) in self._series_seen.items():
                    if i in self._series_rules.get(sid, ()):
                        gone = now_ms - last > silence_limit_ms(rule, interval)
                        self._judge(rule, self._series[sid], None, now_ms, gone, out)
        return out

    def repeats(self, now_ms: int) -> list[tuple[Transition, int]]:
        """Firing alerts due to be sent again: (the alert as a firing transition, which repeat)."""
        out: list[tuple[Transition, int]] = []
        every = {r.name: r.repeat_ms for r in self.rules if r.repeat_ms}
        if not every:
            return out
        for inst in self.instances.values():
            repeat_ms = every.get(inst.rule)
            if not repeat_ms or inst.state != FIRING or inst.starts_at is None:
                continue
            k = (now_ms - inst.starts_at) // repeat_ms
            if k >= 1 and k > inst.repeated:
                inst.repeated = k
                out.append((Transition(
                    inst.rule, inst.kind, inst.host, inst.metric, inst.labels, inst.series_id,
                    FIRING, FIRING, inst.severity, inst.value, inst.starts_at, inst.starts_at, None,
                ), k))  # fmt: skip
        return out

    def _note_seen(self, ref: SeriesRef, t: np.ndarray) -> None:
        newest = int(t[-1])
        previous = self._series_seen.get(ref.id)
        interval = int(t[-1] - t[-2]) if len(t) > 1 else (newest - previous[0] if previous else 0)
        if previous and interval <= 0:
            interval = previous[1]
        self._series_seen[ref.id] = (newest, interval)
        host = self.hosts.get(ref.host)
        if host is None or newest >= host[0]:
            self.hosts[ref.host] = (newest, interval or (host[1] if host else 0))

    def _instance(self, rule: Rule, ref: SeriesRef, host_level: bool = False) -> Instance:
        key = (rule.name, ref.host, None if host_level else ref.id)
        inst = self.instances.get(key)
        if inst is None:
            inst = Instance(rule.name, rule.kind, ref.host, ref.metric, dict(ref.labels), key[2])
            self.instances[key] = inst
        return inst

    @staticmethod
    def _aggregate(rule: Rule, inst: Instance, t: np.ndarray, v: np.ndarray) -> float:
        if rule.over == "last":
            return float(v[-1])
        inst.window.extend(zip(t.tolist(), v.tolist(), strict=True))
        cut = int(t[-1]) - rule.window_ms
        while inst.window and inst.window[0][0] <= cut:
            inst.window.pop(0)
        points = [x for _, x in inst.window]
        if rule.over == "max":
            return max(points)
        if rule.over == "min":
            return min(points)
        return sum(points) / len(points)

    def _judge(
        self,
        rule: Rule,
        ref: SeriesRef,
        value: float | None,
        at: int,
        holds: bool | None,
        out: list[Transition],
        host_level: bool = False,
    ) -> None:
        """Move one instance. ``holds`` None: decide from the rule's levels and ``value``."""
        inst = self._instance(rule, ref, host_level)
        severity = "critical"
        if holds is None:
            assert value is not None
            severity, holds = _level(rule, value, inst.state == FIRING)
            if inst.state == FIRING and holds and severity == "":
                severity = inst.severity  # inside the hysteresis band: keep what is firing
        inst.value = value
        if holds:
            if inst.state in (INACTIVE, RESOLVED):
                inst.since, inst.ends_at = at, None
                self._move(inst, PENDING, severity, at, out)
            if inst.state == PENDING and at - inst.since >= rule.for_ms:
                inst.starts_at = at
                self._move(inst, FIRING, severity, at, out)
            elif inst.state == FIRING and severity != inst.severity:
                self._move(inst, FIRING, severity, at, out)
        elif inst.state == PENDING:
            self._move(inst, INACTIVE, inst.severity, at, out)
        elif inst.state == FIRING:
            inst.ends_at = at
            self._move(inst, RESOLVED, inst.severity, at, out)

    def _move(
        self, inst: Instance, state: str, severity: str, at: int, out: list[Transition]
    ) -> None:
        previous, inst.state, inst.severity = inst.state, state, severity
        was, now = previous in (PENDING, FIRING), state in (PENDING, FIRING)
        if was != now and inst.series_id is not None:
            self._active[inst.series_id] = self._active.get(inst.series_id, 0) + (1 if now else -1)
        # Pending and back are stored too (history), but notifiers only act on firing/resolved.
        out.append(
            Transition(
                inst.rule, inst.kind, inst.host, inst.metric, inst.labels, inst.series_id,
                previous, state, severity, inst.value, at, inst.starts_at, inst.ends_at,
            )
        )  # fmt: skip


def _level(rule: Rule, value: float, firing: bool) -> tuple[str, bool]:
    """(severity, condition holds). While firing, the condition holds down to ``clear``."""
    if rule.critical is not None and value >= rule.critical:
        return "critical", True
    if rule.warning is not None and value >= rule.warning:
        return "warning", True
    if firing and rule.clear is not None and value >= rule.clear:
        return "", True
    return "", False
