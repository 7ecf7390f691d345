"""The lineup: which discovered sources run, with which options, interval and timeout; their
collectors; and ``collect_once``, the ``--once`` round.

A source runs when its ``[plugins.NAME]`` table exists (unless ``enabled = false``), or, with no
table, when the source is ``default_enabled`` and needs no required option. A table naming no
discovered source is an error (a typo would otherwise silently collect nothing), except when some
plugin failed to load — then it is probably that plugin's, and the agent warns and goes on.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from hostpulse.agent.collect.point import CheckedSample
from hostpulse.agent.collect.scheduler import Collector, close_all, now_ms
from hostpulse.agent.collect.selfmetrics import AgentSource
from hostpulse.agent.collect.source import Source
from hostpulse.agent.collect.threads import Pool
from hostpulse.agent.config import SOURCE_KEYS, AgentConfig
from hostpulse.agent.errors import ConfigError
from hostpulse.agent.loading.discover import Discovery
from hostpulse.agent.stats import Stats

log = logging.getLogger("hostpulse.agent")

MIN_INTERVAL = 0.1


@dataclass
class Planned:
    """A source that will run, its options already validated."""

    name: str
    cls: type[Source]
    plugin: str
    options: dict[str, Any]
    interval: float
    timeout: float


def _seconds(key: str, value: Any, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(key, value, f"a number of seconds ≥ {minimum:g}")
    return float(value)


def plan(
    discovery: Discovery, config: AgentConfig, *, only: str | None = None, with_self: bool = True
) -> list[Planned]:
    """The sources to run; ``only`` picks one source (enabled or not), as ``--source`` does."""
    sources = discovery.sources
    known = ", ".join(sorted(sources)) or "none"
    for name in config.plugins:
        if name not in sources:
            if discovery.broken:
                log.warning("[plugins.%s]: no such source (a plugin failed to load)", name)
                continue
            raise ConfigError(f"plugins.{name}", "(table)", f"the name of a discovered source ({known})")
    if only is not None and only not in sources:
        raise ConfigError("--source", only, f"the name of a discovered source ({known})")
    planned = []
    for name, entry in sources.items():
        if only is not None and name != only:
            continue
        if only is None and name == "agent" and not with_self:
            continue
        table = config.plugins.get(name)
        cls = entry.cls
        if table is None:
            enabled = cls.default_enabled
        else:
            enabled = table.get("enabled", True)
            if not isinstance(enabled, bool):
                raise ConfigError(f"plugins.{name}.enabled", enabled, "true or false")
        if not enabled and only is None:
            continue
        table = table or {}
        options = {key: value for key, value in table.items() if key not in SOURCE_KEYS}
        try:
            checked = cls.validate(options)
        except ConfigError:
            if table or only is not None:
                raise
            # Nobody asked for this source and it needs settings: it simply does not run.
            log.debug("source %s is not configured; not running it", name)
            continue
        interval = _seconds(f"plugins.{name}.interval", table.get("interval", cls.interval), MIN_INTERVAL)
        timeout_default = cls.timeout if cls.timeout is not None else interval
        timeout = _seconds(f"plugins.{name}.timeout", table.get("timeout", timeout_default), 0.001)
        planned.append(Planned(name, cls, entry.plugin, checked, interval, timeout))
    return planned


def instantiate(planned: Planned) -> Source | None:
    """Create the source; a plugin whose constructor fails is logged and left out, never fatal."""
    try:
        return planned.cls(**planned.options)
    except ConfigError:
        raise
    except Exception as exc:
        log.error(
            "source %s (plugin %s) failed to start: %s: %s",
            planned.name, planned.plugin, type(exc).__name__, exc, exc_info=exc,
        )
        return None


def build_collectors(planned: list[Planned], config: AgentConfig, stats: Stats) -> list[Collector]:
    """Instantiate the planned sources; the ``agent`` source gets this run's stats.

    Their synchronous collect() calls share one thread (agent/worker.py explains why and how a slow
    one is moved off it)."""
    collectors = []
    pool = Pool()
    for plan in planned:
        stats.plugins[plan.name] = plan.plugin
        source = instantiate(plan)
        if source is None:
            stats.errors[(plan.name, "init")] += 1
            continue
        if isinstance(source, AgentSource):
            source.stats = stats
        collectors.append(
            Collector(plan.name, source, plan.interval, plan.timeout, config.max_samples_per_collect,
                      stats, pool)
        )
    return collectors


async def collect_once(collectors: list[Collector]) -> list[CheckedSample]:
    """One round of every collector, concurrently, each under its timeout."""
    tick = now_ms()
    rounds = await asyncio.gather(*(collector.collect(tick) for collector in collectors))
    close_all(collectors)
    return [point for points in rounds for point in points]
