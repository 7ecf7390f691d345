"""Choosing devices and interfaces by name, and checking options' values, for the built-in sources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from hostpulse.agent.errors import ConfigError
from hostpulse.wire import METRIC_RE


class NameFilter:
    """Keeps a name when it matches one of ``include`` (empty: any) and none of ``exclude``.

    Patterns are shell globs (``eth*``, ``loop?``); a plain name matches itself only.
    """

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> None:
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self._cache: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        # Device names repeat every second; glob matching them each time is wasted work.
        kept = self._cache.get(name)
        if kept is None:
            kept = (not self.include or any(fnmatchcase(name, p) for p in self.include)) and not any(
                fnmatchcase(name, p) for p in self.exclude
            )
            if len(self._cache) < 4096:
                self._cache[name] = kept
        return kept


def check_choice(source: str, config: Mapping[str, Any], key: str, choices: Sequence[str]) -> None:
    """Raise a ConfigError unless option ``key`` is one of ``choices``."""
    if config[key] not in choices:
        raise ConfigError(f"plugins.{source}.{key}", config[key], f"one of {', '.join(choices)}")


def check_urls(source: str, config: Mapping[str, Any], key: str = "urls") -> None:
    """``key`` (an ``Option(list, items=str)``) is a non-empty list of http:// or https:// URLs."""
    if not config[key]:
        raise ConfigError(f"plugins.{source}.{key}", [], "at least one URL")
    for url in config[key]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"plugins.{source}.{key}", url, "an http:// or https:// URL")


def check_prefix(source: str, config: Mapping[str, Any], key: str = "prefix") -> None:
    """Raise a ConfigError unless option ``key`` is empty or a valid dotted metric prefix."""
    prefix = config[key]
    if prefix and not METRIC_RE.match(prefix):
        raise ConfigError(f"plugins.{source}.{key}", prefix, "a dotted lowercase metric prefix")
