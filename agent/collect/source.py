"""What a source is: the small class every plugin, built-in or a user's, hands to the agent.

A source declares its ``name``, its ``options``, its default ``interval`` and a ``collect()``
that may be a plain function, a generator or a coroutine, and returns :class:`Sample` objects.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hostpulse.agent.errors import ConfigError

_REQUIRED: Any = object()


@dataclass(slots=True)
class Sample:
    """One measurement. ``ts`` is epoch milliseconds; ``None`` means "the tick being collected"."""

    metric: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)
    unit: str = ""
    ts: int | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """A declared option of a source: its type, default (absent means required) and help text.

    A ``list`` option names the type of its items, ``Option(list, items=str)``, and each item is
    checked against it, so a source does not check its lists by hand."""

    type: type = str
    default: Any = _REQUIRED
    help: str = ""
    items: builtins.type | None = None  # the builtin: ``type`` here is the field above

    def __post_init__(self) -> None:
        if self.items is not None and self.type is not list:
            raise TypeError(f"Option(items=...) is for a list option, not a {self.type.__name__}")

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def coerce(self, source: str, key: str, value: Any) -> Any:
        """Return ``value`` as this option's type, or raise a ConfigError naming key and value."""
        expected = self.type
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if expected is bool and not isinstance(value, bool):
            raise ConfigError(f"plugins.{source}.{key}", value, "true or false")
        if not isinstance(value, expected):
            raise ConfigError(f"plugins.{source}.{key}", value, f"a {self.kind}")
        if self.items is not None and isinstance(value, list):  # items: a list option (__post_init__)
            item = Option(self.items)
            return [item.coerce(source, f"{key}[{i}]", v) for i, v in enumerate(value)]
        return value

    @property
    def kind(self) -> str:
        """The type as an error message says it: ``int``, ``list of str``."""
        if self.items is not None:
            return f"{self.type.__name__} of {self.items.__name__}"
        return self.type.__name__


class Source:
    """Base class of every source. Subclass it, set the class attributes, write ``collect``."""

    name: ClassVar[str] = ""
    #: Seconds between collections unless the config says otherwise.
    interval: ClassVar[float] = 1.0
    #: Seconds a collection may take before the scheduler abandons it (None: the interval).
    timeout: ClassVar[float | None] = None
    options: ClassVar[dict[str, Option]] = {}
    #: Short description shown by ``hostpulse plugins``; the class docstring is used when empty.
    description: ClassVar[str] = ""
    #: Whether the source runs when the config has no ``[plugins.NAME]`` table. Sources that only
    #: make sense once configured (a command to run, a URL to scrape, demo data) set this to False.
    default_enabled: ClassVar[bool] = True

    def __init__(self, **config: Any) -> None:
        self.config: dict[str, Any] = self.validate(config)

    @classmethod
    def validate(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``config`` against ``options``; unknown keys and missing required ones are errors."""
        for key, value in config.items():
            if key not in cls.options:
                known = ", ".join(sorted(cls.options)) or "none"
                raise ConfigError(f"plugins.{cls.name}.{key}", value, f"one of the known options ({known})")
        checked: dict[str, Any] = {}
        for key, option in cls.options.items():
            if key in config:
                checked[key] = option.coerce(cls.name, key, config[key])
            elif option.required:
                raise ConfigError(f"plugins.{cls.name}.{key}", None, f"a {option.kind} (required)")
            else:
                checked[key] = option.default
        return checked

    def collect(self) -> Iterable[Sample] | Awaitable[Iterable[Sample]] | AsyncIterable[Sample]:
        """Return this round's samples. May be sync, a generator, or ``async def``."""
        raise NotImplementedError

    def close(self) -> None:  # an optional hook for sources that hold resources
        """Release what the source holds (files, clients). Called once when the agent stops."""
