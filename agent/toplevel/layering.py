"""Settings in layers, one rule for the agent and the hub: CLI flags over ``HOSTPULSE_*`` environment
variables over a TOML table over the defaults, the first layer that sets a key wins.

Each side keeps its own settings, defaults and checks of meaning (a positive interval, a URL); this
module does what both must do alike: pick the winning layer, turn an environment string into the
setting's type, and remember the name the user wrote — ``--max-labels``, ``HOSTPULSE_MAX_LABELS`` or
``hub.max_labels`` — so that an error about the value names that, not the field behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_PREFIX = "HOSTPULSE_"

#: Builds the side's error from (the name as written, the value, what was expected).
ErrorFactory = Callable[[str, Any, str], Exception]


@dataclass(frozen=True, slots=True)
class Setting:
    """A value as one layer gave it, with the name it was given under."""

    value: Any
    named: str
    from_env: bool = False


def env_name(key: str) -> str:
    return ENV_PREFIX + key.upper()


def layered(
    keys: Iterable[str],
    *,
    table: Mapping[str, Any],
    table_name: str,
    env: Mapping[str, str],
    flags: Mapping[str, Any],
    flag_names: Mapping[str, str] | None = None,
) -> dict[str, Setting]:
    """The winning layer of each of ``keys`` that any layer sets; a flag of ``None`` is unset.

    ``flag_names`` gives a flag whose name is not the key's with dashes (``--plugin-dir``)."""
    found: dict[str, Setting] = {}
    for key in keys:
        if flags.get(key) is not None:
            named = (flag_names or {}).get(key, "--" + key.replace("_", "-"))
            found[key] = Setting(flags[key], named)
        elif env_name(key) in env:
            found[key] = Setting(env[env_name(key)], env_name(key), from_env=True)
        elif key in table:
            found[key] = Setting(table[key], f"{table_name}.{key}")
    return found


_EXPECTED = {int: "an integer", float: "a number", str: "a string", Path: "a path"}


def coerce(setting: Setting, kind: type | None, error: ErrorFactory) -> Any:
    """``setting``'s value as ``kind`` (int, float, str or Path; ``None``: as given).

    An environment string is parsed; a TOML or flag value must already be of the type (an int
    passes for a float), so ``"5"`` in a TOML file or ``true`` for a number is refused, not guessed.
    """
    value = setting.value
    if kind is None:
        return value
    expected = _EXPECTED.get(kind, f"a {kind.__name__}")
    if setting.from_env and kind in (int, float):
        try:
            return kind(value.strip())
        except ValueError:
            raise error(setting.named, value, expected) from None
    if kind is Path and isinstance(value, str | Path):
        return Path(value)
    if isinstance(value, bool) or not isinstance(value, int if kind is int else _accepts(kind)):
        raise error(setting.named, value, expected)
    return kind(value)


def _accepts(kind: type) -> type | tuple[type, ...]:
    return (int, float) if kind is float else kind
