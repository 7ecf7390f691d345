"""The agent's exceptions.

    AgentError
     ├── ConfigError    a setting is wrong: names the key, the value and what was expected
     └── PluginError    a plugin could not be loaded or misbehaved
"""

from __future__ import annotations

from typing import Any


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(AgentError):
    def __init__(self, key: str, value: Any, expected: str) -> None:
        self.key, self.value, self.expected = key, value, expected
        shown = "missing" if value is None else repr(value)
        super().__init__(f"{key} = {shown}: expected {expected}")


class PluginError(AgentError):
    """A plugin failed to load or registered something that is not a Source."""
