"""``hostpulse agent`` and ``hostpulse plugins``: the agent's command line.

Imports stay light on purpose: ``hostpulse agent --once`` must not load httpx, and nothing here
loads Quart, Tortoise or numpy.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click
import orjson

from hostpulse.agent.config import AgentConfig, load_config
from hostpulse.agent.errors import ConfigError
from hostpulse.agent.secret import MaskFilter, Secret


class ConfigProblem(click.ClickException):
    exit_code = 2


def _setup_logging(level: str, token: Secret | None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if token:
        handler.addFilter(MaskFilter(token))
    root = logging.getLogger("hostpulse")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def _config(config_path: Path | None, flags: dict[str, Any]) -> AgentConfig:
    path = config_path or (Path(os.environ["HOSTPULSE_CONFIG"]) if os.environ.get("HOSTPULSE_CONFIG") else None)
    try:
        return load_config(path, flags=flags)
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None


def _plugin_dirs(given: tuple[Path, ...]) -> list[Path]:
    """``--plugin-dir`` values, checked as agent/plugindirs.py says (relative to the cwd)."""
    from hostpulse.agent.loading import plugindirs

    return [plugindirs.checked("--plugin-dir", str(d)) for d in given]


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="TOML config file (also HOSTPULSE_CONFIG).",
)
plugin_dir_option = click.option(
    "--plugin-dir", "plugin_dirs", multiple=True, metavar="DIR",
    help="Also load single-file plugins from DIR (repeatable).",
)


@click.group(invoke_without_command=True)
@click.option("--hub", metavar="URL", help="The hub's URL (also HOSTPULSE_HUB).")
@click.option("--token", metavar="T", help="Agent token; prefer the HOSTPULSE_TOKEN env var.")
@config_option
@click.option("--host", metavar="NAME", help="This host's name (default: the hostname).")
@click.option("--once", is_flag=True, help="Collect one round, print JSON lines, send nothing.")
@click.option("--source", metavar="NAME", help="Only this source (with --once: even if disabled).")
@plugin_dir_option
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path), help="Spool directory.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def agent_command(
    ctx: click.Context,
    hub: str | None,
    token: str | None,
    config_path: Path | None,
    host: str | None,
    once: bool,
    source: str | None,
    plugin_dirs: tuple[Path, ...],
    state_dir: Path | None,
    log_level: str | None,
) -> None:
    """Run the agent: collect from every enabled source and send to the hub.

    Settings come from flags, then HOSTPULSE_* environment variables, then the [agent] table of
    the config file. `hostpulse agent --once` is how a plugin author checks a source.
    """
    if ctx.invoked_subcommand is not None:
        return
    flags: dict[str, Any] = {
        "hub": hub, "token": token, "host": host, "state_dir": state_dir and str(state_dir),
        "log_level": log_level,
    }
    config = _config(config_path, flags)
    try:
        config.plugin_dirs = [*config.plugin_dirs, *_plugin_dirs(plugin_dirs)]
        secret = None if once else config.token_value()
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    _setup_logging(config.log_level if not once else (log_level or "warning"), secret)
    if not once and config.hub is None:
        raise ConfigProblem(str(ConfigError("hub", None, "a URL: --hub, HOSTPULSE_HUB or [agent] hub")))
    if not once and not secret:
        raise ConfigProblem(
            str(ConfigError("token", None, "a token: HOSTPULSE_TOKEN, --token or [agent] token_file"))
        )

    from hostpulse.agent.collect.plan import build_collectors, plan
    from hostpulse.agent.loading.discover import discover
    from hostpulse.agent.stats import Stats

    discovery = discover(config.plugin_dirs)
    stats = Stats()
    try:
        planned = plan(discovery, config, only=source, with_self=not once)
        collectors = build_collectors(planned, config, stats)
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    if once:
        sys.exit(_run_once(collectors, stats))
    assert secret is not None
    sys.exit(0 if asyncio.run(_run(config, collectors, stats, secret)) else 1)


def _run_once(collectors: list[Any], stats: Any) -> int:
    from hostpulse.agent.collect.plan import collect_once

    points = asyncio.run(collect_once(collectors))
    out = sys.stdout.buffer
    try:
        for point in points:
            out.write(orjson.dumps(point.as_json()) + b"\n")
        out.flush()
    except BrokenPipeError:  # `hostpulse agent --once | head` is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if stats.errors else 0


async def _run(config: AgentConfig, collectors: list[Any], stats: Any, token: Secret) -> bool:
    from hostpulse.agent.agent import Agent, install_signal_handlers
    from hostpulse.agent.deliver.statelock import StateDirBusy

    stop = asyncio.Event()
    install_signal_handlers(stop)
    try:
        agent = Agent(config, collectors, stats, token)
    except StateDirBusy as exc:
        raise click.ClickException(str(exc)) from exc
    return await agent.run(stop)


@agent_command.command("init")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="hostpulse-agent.toml")
@click.option("--hub", metavar="URL", help="Write this hub URL into the file.")
@click.option("--host", metavar="NAME", help="Write this host name into the file.")
@plugin_dir_option
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_command(
    path: Path, hub: str | None, host: str | None, plugin_dirs: tuple[Path, ...], force: bool
) -> None:
    """Write a commented config file listing every setting and every discovered source."""
    from hostpulse.agent.commands.template import render
    from hostpulse.agent.loading.discover import discover

    if path.exists() and not force:
        raise ConfigProblem(f"{path} exists: expected a new file (or --force)")
    given: dict[str, Any] = {"hub": hub, "host": host, "plugin_dirs": [str(d) for d in plugin_dirs]}
    given = {key: value for key, value in given.items() if value}
    try:
        load_config(None, env={}, flags=given)  # refuse to write a file the agent would reject
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(discover(plugin_dirs), given))
    click.echo(f"wrote {path}")


@click.group("plugins", invoke_without_command=True)
@config_option
@plugin_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def plugins_group(
    ctx: click.Context, config_path: Path | None, plugin_dirs: tuple[Path, ...], as_json: bool
) -> None:
    """List every plugin: where it came from, its sources and their options."""
    if ctx.invoked_subcommand is not None:
        return
    from hostpulse.agent.commands.listing import describe, render

    config = _config(config_path, {})
    from hostpulse.agent.loading.discover import discover

    try:
        discovery = discover([*config.plugin_dirs, *_plugin_dirs(plugin_dirs)])
    except ConfigError as exc:
        raise ConfigProblem(str(exc)) from None
    described = describe(discovery)
    if as_json:
        click.echo(orjson.dumps(described, option=orjson.OPT_INDENT_2).decode())
    else:
        click.echo(render(described))


@plugins_group.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where to create the package folder.")
def new_command(name: str, directory: Path) -> None:
    """Scaffold an installable plugin package providing a source called NAME."""
    from hostpulse.agent.commands.scaffold import scaffold

    try:
        root = scaffold(name, directory)
    except ValueError as exc:
        raise ConfigProblem(str(exc)) from None
    click.echo(f"created {root}")
    click.echo(f"next: pip install -e {root} && hostpulse agent --once --source {name}")
