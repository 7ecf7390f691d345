"""The agent's settings: command-line flags, then ``HOSTPULSE_*`` environment variables, then the
``[agent]`` table of the TOML config file, then defaults — the first that sets a key wins.

Sources are configured in ``[plugins.NAME]`` tables of the same file: their own options, plus
``enabled``, ``interval`` and ``timeout``, which every source understands. Every value is checked
when the agent starts; an error names the key (as written where it came from), the value and what
was expected.
"""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hostpulse.agent.errors import ConfigError
from hostpulse.agent.loading import plugindirs
from hostpulse.agent.secret import Secret
from hostpulse.layering import coerce, layered

#: Keys every ``[plugins.NAME]`` table may hold besides the source's own options.
SOURCE_KEYS = ("enabled", "interval", "timeout")


def default_state_dir() -> Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/hostpulse")
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "hostpulse"


@dataclass
class AgentConfig:
    """Resolved settings. ``help`` metadata is what ``hostpulse agent init`` writes as comments."""

    hub: str | None = field(default=None, metadata={"help": "URL of the hub, e.g. http://hub:8080"})
    token: Secret | None = field(
        default=None, metadata={"help": "agent token (prefer HOSTPULSE_TOKEN or token_file)"}
    )
    token_file: Path | None = field(default=None, metadata={"help": "file holding the agent token"})
    host: str = field(
        default_factory=socket.gethostname, metadata={"help": "name of this host on the hub"}
    )
    plugin_dirs: list[Path] = field(
        default_factory=list, metadata={"help": "directories of single-file plugins (*.py)"}
    )
    state_dir: Path = field(
        default_factory=default_state_dir, metadata={"help": "spool and dead-letter file live here"}
    )
    batch_max_samples: int = field(default=5000, metadata={"help": "seal a batch at this many samples"})
    batch_max_age: float = field(default=2.0, metadata={"help": "…or when it is this many seconds old"})
    spool_max_bytes: int = field(
        default=128 * 1024 * 1024, metadata={"help": "disk kept for batches while the hub is away"}
    )
    max_samples_per_collect: int = field(
        default=10_000, metadata={"help": "samples kept from one collect(); the rest are dropped"}
    )
    shutdown_timeout: float = field(
        default=5.0, metadata={"help": "seconds to flush to the hub on SIGTERM before spooling"}
    )
    clock_warn_s: float = field(
        default=30.0, metadata={"help": "warn when this host's clock is this many seconds off the hub's"}
    )
    log_level: str = field(default="info", metadata={"help": "debug, info, warning or error"})
    #: ``[plugins.NAME]`` tables, checked against the discovered sources by
    #: :func:`hostpulse.agent.collect.plan.plan`: an unknown name is a ConfigError (a warning when
    #: a plugin failed to load, as it may be that one).
    plugins: dict[str, dict[str, Any]] = field(default_factory=dict)

    def token_value(self) -> Secret | None:
        """The token, read from ``token_file`` when no token was given directly."""
        if self.token:
            return self.token
        if self.token_file is not None:
            try:
                return Secret(self.token_file.read_text().strip())
            except OSError as exc:
                raise ConfigError("token_file", str(self.token_file), f"a readable file ({exc})") from exc
        return None


def _positive(kind: type) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, value, f"a positive {'integer' if kind is int else 'number'}")
        if kind is int and not isinstance(value, int):
            raise ConfigError(key, value, "a positive integer")
        if value <= 0:
            raise ConfigError(key, value, f"a positive {'integer' if kind is int else 'number'}")
        return kind(value)

    return check


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(key, value, "a non-empty string")
    return value


def _url(key: str, value: Any) -> str:
    url = _string(key, value)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(key, url, "an http:// or https:// URL")
    return url.rstrip("/")


def _path(key: str, value: Any) -> Path:
    return Path(_string(key, value)).expanduser()


def _paths(key: str, value: Any) -> list[str]:
    """A list of directory names (or one ``:``-separated string); agent/plugindirs.py checks them."""
    if isinstance(value, str):
        value = [part for part in value.split(os.pathsep) if part]
    if not isinstance(value, list):
        raise ConfigError(key, value, "a list of directories")
    return [_string(key, item) for item in value]


def _level(key: str, value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in ("debug", "info", "warning", "error"):
        raise ConfigError(key, value, "one of debug, info, warning, error")
    return value.lower()


CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "hub": _url,
    "token": lambda key, value: Secret(_string(key, value)),
    "token_file": _path,
    "host": _string,
    "plugin_dirs": _paths,
    "state_dir": _path,
    "batch_max_samples": _positive(int),
    "batch_max_age": _positive(float),
    "spool_max_bytes": _positive(int),
    "max_samples_per_collect": _positive(int),
    "shutdown_timeout": _positive(float),
    "clock_warn_s": _positive(float),
    "log_level": _level,
}
#: Settings an environment string is parsed into; the rest are taken as written.
KINDS: dict[str, type] = {
    "batch_max_samples": int,
    "spool_max_bytes": int,
    "max_samples_per_collect": int,
    "batch_max_age": float,
    "shutdown_timeout": float,
    "clock_warn_s": float,
}


def read_file(path: Path) -> dict[str, Any]:
    """Parse a TOML config file; a syntax error names the file and the line."""
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError("--config", str(path), "an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", str(path), f"valid TOML ({exc})") from None


#: Flags whose name is not the setting's with dashes (one --plugin-dir per directory).
FLAG_NAMES = {"plugin_dirs": "--plugin-dir"}


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> AgentConfig:
    """Resolve the settings: flags > ``HOSTPULSE_*`` env > the file's ``[agent]`` table > defaults."""
    env = os.environ if env is None else env
    flags = flags or {}
    data = read_file(path) if path is not None else {}
    agent_table = data.get("agent", {})
    if not isinstance(agent_table, dict):
        raise ConfigError("agent", agent_table, "a table of agent settings")
    plugins = data.get("plugins", {})
    if not isinstance(plugins, dict) or not all(isinstance(t, dict) for t in plugins.values()):
        raise ConfigError("plugins", plugins, "tables named [plugins.SOURCE]")
    for key, value in agent_table.items():
        if key not in CHECKS:
            raise ConfigError(f"agent.{key}", value, f"one of the known settings ({', '.join(CHECKS)})")
    given = layered(CHECKS, table=agent_table, table_name="agent", env=env, flags=flags,
                    flag_names=FLAG_NAMES)
    resolved: dict[str, Any] = {}
    for key, setting in given.items():
        resolved[key] = CHECKS[key](setting.named, coerce(setting, KINDS.get(key), ConfigError))
    if "plugin_dirs" in resolved:
        # Relative to the config file when written in it, as a reader of the file expects.
        named = given["plugin_dirs"].named
        in_file = path is not None and named == "agent.plugin_dirs"
        base = path.absolute().parent if in_file and path is not None else None
        resolved["plugin_dirs"] = [
            plugindirs.checked(named, value, base) for value in resolved["plugin_dirs"]
        ]
    known = {f.name for f in fields(AgentConfig)}
    return AgentConfig(plugins=plugins, **{k: v for k, v in resolved.items() if k in known})
