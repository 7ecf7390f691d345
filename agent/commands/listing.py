"""What ``hostpulse plugins`` prints: each plugin, where it came from, its sources and options."""

from __future__ import annotations

import inspect
from typing import Any

from hostpulse.agent.collect.source import Source
from hostpulse.agent.loading.discover import Discovery


def _first_line(cls: type[Source]) -> str:
    # Only the class's own docstring: an inherited one would describe Source, not this source.
    text = cls.description or inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    return text.strip().splitlines()[0] if text.strip() else ""


def _default(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else repr(value)


def describe(discovery: Discovery) -> list[dict[str, Any]]:
    """Plain data about every plugin tried, in load order."""
    described = []
    for info in discovery.plugins.values():
        sources = []
        for name in info.sources:
            cls = discovery.sources[name].cls
            options = [
                {
                    "name": key,
                    "type": option.kind,
                    "required": option.required,
                    "default": None if option.required else _default(option.default),
                    "help": option.help,
                }
                for key, option in cls.options.items()
            ]
            sources.append(
                {
                    "name": name,
                    "description": _first_line(cls),
                    "interval": cls.interval,
                    "default_enabled": cls.default_enabled,
                    "options": options,
                }
            )
        described.append(
            {"name": info.name, "kind": info.kind, "origin": info.origin, "error": info.error,
             "sources": sources}
        )
    return described


def render(described: list[dict[str, Any]]) -> str:
    lines = []
    for plugin in described:
        lines.append(f"{plugin['name']}  ({plugin['kind']}: {plugin['origin']})")
        if plugin["error"]:
            lines.append(f"  ERROR: {plugin['error']}")
        for source in plugin["sources"]:
            state = "" if source["default_enabled"] else ", off unless configured"
            lines.append(f"  source {source['name']}: every {source['interval']:g}s{state}")
            if source["description"]:
                lines.append(f"    {source['description']}")
            for option in source["options"]:
                default = "required" if option["required"] else f"default {option['default']!r}"
                help_text = f"  {option['help']}" if option["help"] else ""
                lines.append(f"    {option['name']} ({option['type']}, {default}){help_text}")
    return "\n".join(lines)
