"""Rules evaluated as batches are committed, and host-down/absent rules on a timer.

Each new series is matched against every rule's globs once, into a plan (:class:`_Plan`); after
that a batch of a quiet series costs a dict lookup and one comparison, and a series above its
lowest level a pass over its rules that stops at the first level above the value. A threshold is
judged at each block's newest point (an agent's batch spans its batching interval, a few seconds
at most); window rules (avg/max/min) keep their aggregate as points arrive
(:class:`~hostpulse.hub.alerts.states.Window`). Measured in ``bench/alert_rules.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hostpulse.hub.alerts.config import Rule
from hostpulse.hub.alerts.states import (
    FIRING,
    INACTIVE,
    PENDING,
    RESOLVED,
    Instance,
    Transition,
    Window,
)  # fmt: skip

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


@dataclass(slots=True)
class _Plan:
    """A series' rules, resolved at its first sample: what a batch of it is judged against."""

    #: Thresholds on ``last`` with their instances, lowest level first: with nothing pending or
    #: firing, a value under one rule's level is under every later one's, so the pass stops there.
    last: list[tuple[Rule, Instance]]
    #: Every other rule selecting the series (windowed thresholds, anomaly, absent).
    other: list[tuple[Rule, Instance]]
    #: The lowest level of ``last`` when ``other`` is empty (-inf otherwise): a batch whose newest
    #: value is under it, on a series with nothing pending or firing, is one comparison.
    below: float
    #: How many of the ``last`` instances are pending or firing, recounted as each batch judges
    #: them (only the evaluator moves them), not kept per transition.
    active: int


class Evaluator:
    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._series_rules: dict[int, tuple[int, ...]] = {}
        self._series: dict[int, SeriesRef] = {}
        self._plans: dict[int, _Plan] = {}
        self.instances: dict[tuple[str, str, int | None], Instance] = {}
        #: host → (newest sample ts, its collection interval estimate in ms)
        self.hosts: dict[str, tuple[int, int]] = {}
        self._series_seen: dict[int, tuple[int, int]] = {}
        #: host → its labels (the hosts table), for rules that select by ``host_labels``
        self.host_labels: dict[str, Mapping[str, str]] = {}
        self._timer_rules = [
            i for i, r in enumerate(self.rules) if r.kind in ("host_down", "absent")
        ]

    def restore(self, instances: Iterable[Instance]) -> None:
        """Take back the pending/firing instances stored before a restart (no new transition)."""
        for inst in instances:
            self.instances[inst.key] = inst
            if inst.series_id is not None:
                self._plans.pop(inst.series_id, None)  # its plan holds the instance it replaces

    def set_host_labels(self, labels: Mapping[str, Mapping[str, str]]) -> None:
        """Take hosts' labels (the hosts table). The series of a host whose labels changed are
        matched again now; their instances, and so their states, stay."""
        changed = {h for h, got in labels.items() if self.host_labels.get(h, {}) != got}
        self.host_labels.update(labels)
        if not changed:
            return
        for ref in [ref for ref in self._series.values() if ref.host in changed]:
            self._series_rules[ref.id] = self._select(ref)
            self._plans.pop(ref.id, None)  # planned again at the series' next batch

    def threshold_of(self, ref: SeriesRef) -> Rule | None:
        """The first threshold rule, in the hub's order, that selects the series: the levels the
        dashboard draws for it (GET /api/v1/alerts/levels)."""
        for i in self._rules_of(ref):
            if self.rules[i].kind == "threshold":
                return self.rules[i]
        return None

    def _select(self, ref: SeriesRef) -> tuple[int, ...]:
        host_labels = self.host_labels.get(ref.host, {})
        return tuple(
            i for i, r in enumerate(self.rules)
            if r.kind in ("threshold", "anomaly", "absent")
            and r.selects(ref.host, ref.metric, ref.labels, host_labels)
        )  # fmt: skip

    def _rules_of(self, ref: SeriesRef) -> tuple[int, ...]:
        found = self._series_rules.get(ref.id)
        if found is None:
            found = self._series_rules[ref.id] = self._select(ref)
            self._series[ref.id] = ref
        return found

    def _plan(self, ref: SeriesRef) -> _Plan:
        pairs = [(self.rules[i], self._instance(self.rules[i], ref)) for i in self._rules_of(ref)]
        last = sorted(
            ((r, inst) for r, inst in pairs if r.kind == "threshold" and r.over == "last"),
            key=lambda pair: pair[0].lowest,
        )
        other = [(r, inst) for r, inst in pairs if not (r.kind == "threshold" and r.over == "last")]
        for r, inst in other:
            if r.kind == "threshold" and inst.window is None:
                inst.window = Window(r.over, r.window_ms)
        if not pairs:
            below = float("inf")  # watched by no rule: nothing to judge, ever
        elif other:
            below = -float("inf")
        else:
            below = last[0][0].lowest
        plan = _Plan(last, other, below, sum(inst.state in _LIVE for _, inst in last))
        self._plans[ref.id] = plan
        return plan

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
        plans = self._plans
        for ref, t, v in zip(refs, ts, values, strict=True):
            if not len(t):
                continue
            self._note_seen(ref, t)
            plan = plans.get(ref.id) or self._plan(ref)
            value = float(v[-1])
            active = plan.active
            if value < plan.below and not active:
                continue  # the common case: quiet under every rule and staying quiet
            newest, live = int(t[-1]), 0
            for rule, inst in plan.last:
                state = inst.state
                if value < rule.lowest and (state == INACTIVE or state == RESOLVED):
                    if not active:
                        break  # the later rules' levels are higher still
                    continue  # quiet and staying quiet
                self._threshold(rule, inst, value, newest, out)
                live += inst.state in _LIVE
            plan.active = live
            for rule, inst in plan.other:
                if rule.kind == "absent":
                    self._step(rule, inst, None, newest, "", out)  # a sample: not absent
                elif rule.kind == "threshold":
                    assert inst.window is not None
                    self._threshold(
                        rule, inst, inst.window.add(t.tolist(), v.tolist()), newest, out
                    )
                else:
                    mine = flags.get(ref.id, set())
                    inst.flags.extend(int(x) in mine for x in t[-rule.points :])
                    del inst.flags[: max(0, len(inst.flags) - rule.points)]
                    holds = sum(inst.flags) >= rule.flags
                    self._step(rule, inst, value, newest, "critical" if holds else "", out)
        return out

    def tick(self, now_ms: int) -> list[Transition]:
        """Host-down and absent rules: who has been silent too long (run on a timer)."""
        out: list[Transition] = []
        for i in self._timer_rules:
            rule = self.rules[i]
            if rule.kind == "host_down":
                for host, (last, interval) in self.hosts.items():
                    if not rule.selects_host(host, self.host_labels.get(host, {})):
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

    def _judge(
        self,
        rule: Rule,
        ref: SeriesRef,
        value: float | None,
        at: int,
        holds: bool,
        out: list[Transition],
        host_level: bool = False,
    ) -> None:
        """Move one instance of a timer rule (host_down, absent)."""
        inst = self._instance(rule, ref, host_level)
        self._step(rule, inst, value, at, "critical" if holds else "", out)

    def _threshold(
        self, rule: Rule, inst: Instance, value: float, at: int, out: list[Transition]
    ) -> None:
        """Judge ``value`` against the levels. While firing, the condition holds down to
        ``clear``, at the severity firing (the hysteresis band)."""
        if rule.critical is not None and value >= rule.critical:
            severity = "critical"
        elif rule.warning is not None and value >= rule.warning:
            severity = "warning"
        elif rule.clear is not None and value >= rule.clear and inst.state == FIRING:
            severity = inst.severity
        else:
            severity = ""
        self._step(rule, inst, value, at, severity, out)

    def _step(
        self,
        rule: Rule,
        inst: Instance,
        value: float | None,
        at: int,
        severity: str,
        out: list[Transition],
    ) -> None:
        """Where the condition moves the instance: it holds at ``severity``, or not at all ("")."""
        inst.value = value
        state = inst.state
        if severity:
            if state == INACTIVE or state == RESOLVED:
                inst.since, inst.ends_at = at, None
                self._move(inst, PENDING, severity, at, out)
                state = PENDING
            if state == PENDING and at - inst.since >= rule.for_ms:
                inst.starts_at, inst.rising_since = at, None
                self._move(inst, FIRING, severity, at, out)
            elif state == FIRING and severity != inst.severity:
                self._change_severity(rule, inst, severity, at, out)
            elif state == FIRING:
                inst.rising_since = None
        elif state == PENDING:
            self._move(inst, INACTIVE, inst.severity, at, out)
        elif state == FIRING:
            inst.ends_at = at
            self._move(inst, RESOLVED, inst.severity, at, out)

    def _change_severity(
        self, rule: Rule, inst: Instance, severity: str, at: int, out: list[Transition]
    ) -> None:
        """A firing alert rises to critical once critical has held for the rule's ``for``, as a
        new critical alert would have to, and falls back to warning at once. Rising at the first
        critical point, a value hovering at the critical level sent a message at each crossing
        (rise and fall, every batch or two); now at most one rise each ``for``, like a
        Prometheus rule per severity, each with its ``for``."""
        if severity == "critical" and rule.for_ms:
            if inst.rising_since is None:
                inst.rising_since = at
            if at - inst.rising_since < rule.for_ms:
                return
        inst.rising_since = None
        self._move(inst, FIRING, severity, at, out)

    def _move(
        self, inst: Instance, state: str, severity: str, at: int, out: list[Transition]
    ) -> None:
        previous, inst.state, inst.severity = inst.state, state, severity
        # Pending and back are stored too (history), but notifiers only act on firing/resolved.
        # tuple.__new__ skips the named tuple's own __new__ frame: 0.11 against 0.19 µs a
        # transition (timeit, best of 5 × 100,000, Python 3.11), a storm makes one per rule.
        out.append(_new_tuple(Transition, (
            inst.rule, inst.kind, inst.host, inst.metric, inst.labels, inst.series_id,
            previous, state, severity, inst.value, at, inst.starts_at, inst.ends_at,
        )))  # fmt: skip


#: The states of an instance that count as active (a quiet series with none is skipped).
_LIVE = frozenset((PENDING, FIRING))
_new_tuple = tuple.__new__
