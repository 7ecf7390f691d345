"""``hostpulse agent init``: a commented config file listing every setting and every source.

Everything is commented out except what the user passed, so the file states the defaults without
pinning them: a later release's better default still applies.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from typing import Any

from hostpulse.agent.collect.source import Source
from hostpulse.agent.config import AgentConfig, default_state_dir
from hostpulse.agent.loading.discover import Discovery

HEADER = """\
# HostPulse agent configuration (TOML).
#
# Precedence: command-line flags > HOSTPULSE_* environment variables > this file > defaults.
# Every [agent] key has an environment variable named after it: hub -> HOSTPULSE_HUB,
# batch_max_age -> HOSTPULSE_BATCH_MAX_AGE, and so on. Keep the token out of this file: use
# HOSTPULSE_TOKEN or token_file.
#
# Check a source with:   hostpulse agent --once --config THIS_FILE --source NAME
"""

SOURCES = """
# Sources. A source runs when its [plugins.NAME] table is present (unless enabled = false), or,
# with no table, when it is on by default and needs no required option. Every table accepts
#   enabled  = true|false
#   interval = seconds between collections (aligned to the wall clock)
#   timeout  = seconds a collection may take (default: the interval)
# besides the source's own options, listed below with their defaults.
"""


def toml_value(value: Any) -> str:
    """A TOML literal for the simple values options use."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def _default(name: str) -> Any:
    for spec in fields(AgentConfig):
        if spec.name == name:
            if spec.default is not MISSING:
                return spec.default
            if name == "state_dir":
                return str(default_state_dir())
            if name == "host":
                return "<this machine's hostname>"
            if spec.default_factory is not MISSING:
                return spec.default_factory()
    raise KeyError(name)  # not a field, or one without a default


def _agent_table(given: dict[str, Any]) -> list[str]:
    lines = ["[agent]"]
    for spec in fields(AgentConfig):
        if spec.name in ("plugins", "token"):
            continue
        lines.append(f"# {spec.metadata.get('help', '')}")
        if spec.name in given:
            lines.append(f"{spec.name} = {toml_value(given[spec.name])}")
        else:
            default = _default(spec.name)
            shown = toml_value(default) if default is not None else '""'
            lines.append(f"# {spec.name} = {shown}")
    return lines


def _source_table(cls: type[Source], plugin: str) -> list[str]:
    doc = (cls.description or (cls.__dict__.get("__doc__") or "")).strip().splitlines()
    state = "on by default" if cls.default_enabled else "off unless configured"
    lines = [f"# {cls.name} (plugin {plugin}, {state}): {doc[0] if doc else ''}".rstrip(": ")]
    lines.append(f"# [plugins.{cls.name}]")
    lines.append(f"# interval = {toml_value(cls.interval)}")
    for key, option in cls.options.items():
        help_text = f"  # {option.help}" if option.help else ""
        value = "…required…" if option.required else toml_value(option.default)
        lines.append(f"# {key} = {value}{help_text}")
    return lines


def render(discovery: Discovery, given: dict[str, Any] | None = None) -> str:
    """The whole file: the [agent] settings, then one commented table per discovered source."""
    parts = [HEADER, "\n".join(_agent_table(given or {})), SOURCES]
    for name in sorted(discovery.sources):
        entry = discovery.sources[name]
        parts.append("\n".join(_source_table(entry.cls, entry.plugin)) + "\n")
    return "\n".join(parts)
