"""Finding plugins: the pluggy manager, entry points, plugin directories, and the sources they register.

Built-in plugins (``plugins/cpu.py`` …) come through the same entry-point group as a user's
installed package, ``hostpulse.plugins``. Two environment variables shape discovery:

* ``HOSTPULSE_PLUGINS`` — a comma list of entry-point names; when set, only those load (set it to
  an empty string to load none). Tests use it so that installed third-party plugins never leak in.
* ``HOSTPULSE_TRACE_HOOKS`` — when set, every hook call is written to stderr.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from hostpulse.agent import hookspecs
from hostpulse.agent.collect import selfmetrics
from hostpulse.agent.collect.source import Source
from hostpulse.agent.errors import PluginError

log = logging.getLogger("hostpulse.agent.plugins")

GROUP = "hostpulse.plugins"


@dataclass
class PluginInfo:
    """A plugin the manager tried to load: where it came from, and why it failed if it did."""

    name: str
    kind: str  # "entry point", "directory" or "built-in"
    origin: str
    error: str | None = None
    sources: list[str] = field(default_factory=list)


@dataclass
class SourceEntry:
    """A source class together with the plugin that registered it."""

    cls: type[Source]
    plugin: str


@dataclass
class Discovery:
    """Everything the plugin manager found."""

    pm: pluggy.PluginManager
    plugins: dict[str, PluginInfo]
    sources: dict[str, SourceEntry]

    @property
    def broken(self) -> bool:
        return any(info.error for info in self.plugins.values())


def _wanted() -> set[str] | None:
    raw = os.environ.get("HOSTPULSE_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _load_entrypoints(pm: pluggy.PluginManager, infos: dict[str, PluginInfo]) -> None:
    wanted = _wanted()
    for ep in importlib.metadata.entry_points(group=GROUP):
        if wanted is not None and ep.name not in wanted:
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "unknown distribution"
        info = PluginInfo(ep.name, "entry point", f"{ep.name} = {ep.value} ({dist})")
        infos[ep.name] = info
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, never fatal
            info.error = f"{type(exc).__name__}: {exc}"
            log.error("plugin %s (%s) failed to load: %s", ep.name, info.origin, info.error)


def _import_file(path: Path) -> ModuleType:
    module_name = f"hostpulse_dirplugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    # Registered before exec so dataclasses and pickling inside the plugin can find the module.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _load_directory(pm: pluggy.PluginManager, directory: Path, infos: dict[str, PluginInfo]) -> None:
    if not directory.is_dir():
        infos[f"{directory}"] = PluginInfo(
            str(directory), "directory", str(directory), error="plugin directory does not exist"
        )
        log.error("plugin directory %s does not exist", directory)
        return
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = path.stem
        info = PluginInfo(name, "directory", str(path))
        if name in infos:
            info.error = f"a plugin named {name!r} is already loaded from {infos[name].origin}"
            infos[str(path)] = info
            log.error("plugin %s: %s", path, info.error)
            continue
        infos[name] = info
        try:
            pm.register(_import_file(path), name=name)
        except Exception as exc:  # noqa: BLE001 - same: reported, not fatal
            info.error = f"{type(exc).__name__}: {exc}"
            log.error("plugin %s failed to load: %s", path, info.error)


def get_plugin_manager(
    plugin_dirs: Sequence[Path | str] = (), *, entrypoints: bool = True
) -> tuple[pluggy.PluginManager, dict[str, PluginInfo]]:
    """Build the plugin manager: hookspecs, the agent's own plugin, entry points, directories.

    Returns the manager and what was tried, by plugin name. ``check_pending()`` rejects a hookimpl
    that matches no hookspec (a misspelt hook) with a ``PluginValidationError`` naming it.
    """
    pm = pluggy.PluginManager("hostpulse")
    pm.add_hookspecs(hookspecs)
    if os.environ.get("HOSTPULSE_TRACE_HOOKS"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    infos: dict[str, PluginInfo] = {}
    pm.register(selfmetrics, name="agent")
    infos["agent"] = PluginInfo("agent", "built-in", "hostpulse.agent.collect.selfmetrics")
    if entrypoints:
        _load_entrypoints(pm, infos)
    for directory in plugin_dirs:
        _load_directory(pm, Path(directory).expanduser(), infos)
    pm.check_pending()
    return pm, infos


def _as_classes(result: Any) -> Iterable[Any]:
    if result is None:
        return []
    if inspect.isclass(result):
        return [result]
    return list(result)


def discover(plugin_dirs: Sequence[Path | str] = (), *, entrypoints: bool = True) -> Discovery:
    """Load the plugins and collect the sources they register, each hookimpl isolated.

    One raising ``register_sources`` would abort pluggy's whole hook call, so each implementation
    is called on its own; a failure marks that plugin broken and the others still count.
    """
    pm, infos = get_plugin_manager(plugin_dirs, entrypoints=entrypoints)
    sources: dict[str, SourceEntry] = {}
    for impl in pm.hook.register_sources.get_hookimpls():  # in registration order
        plugin = impl.plugin_name
        info = infos.setdefault(plugin, PluginInfo(plugin, "registered", repr(impl.plugin)))
        try:
            classes = _as_classes(impl.function())
            if os.environ.get("HOSTPULSE_TRACE_HOOKS"):
                # Each hookimpl is called directly (see above), so pluggy's own tracing misses it.
                sys.stderr.write(f"hook register_sources: plugin {plugin} -> {classes!r}\n")
        except Exception as exc:  # noqa: BLE001 - isolates one plugin's hookimpl
            info.error = f"register_sources raised {type(exc).__name__}: {exc}"
            log.error("plugin %s: %s", plugin, info.error)
            continue
        for cls in classes:
            problem = _check_class(cls)
            if problem is None and cls.name in sources:
                problem = f"source name {cls.name!r} is already taken by plugin {sources[cls.name].plugin}"
            if problem is not None:
                info.error = problem
                log.error("plugin %s: %s", plugin, problem)
                continue
            sources[cls.name] = SourceEntry(cls, plugin)
            info.sources.append(cls.name)
    return Discovery(pm, infos, sources)


def _check_class(cls: Any) -> str | None:
    if not (inspect.isclass(cls) and issubclass(cls, Source)):
        return f"register_sources returned {cls!r}, which is not a Source subclass"
    if not cls.name or not isinstance(cls.name, str):
        return f"source class {cls.__qualname__} has no name"
    if cls.collect is Source.collect:
        return f"source {cls.name} does not implement collect()"
    return None
