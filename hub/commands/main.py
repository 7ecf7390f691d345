"""The ``hostpulse`` command. Subcommands are imported only when run, so ``hostpulse agent``
never pays for Quart and Tortoise, and ``hostpulse hub`` never for the agent's plugins."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

import click

# name -> "module:attribute" of a click command; the owners of each module define the command.
COMMANDS: dict[str, str] = {
    "hub": "hostpulse.hub.commands.serve:hub_command",
    "token": "hostpulse.hub.commands.serve:token_group",
    "demo": "hostpulse.hub.commands.demo:demo_command",
    "detect": "hostpulse.hub.commands.detect:detect_command",
    "agent": "hostpulse.agent.commands.cli:agent_command",
    "plugins": "hostpulse.agent.commands.cli:plugins_group",
    "host": "hostpulse.hub.commands.host:host_group",
    "wheelhouse": "hostpulse.hub.commands.host:wheelhouse_group",
    "alerts": "hostpulse.hub.commands.alerts:alerts_group",
}

#: The commands that run the hub's web app or open its database: on an agent-only install
#: (`pip install hostpulse`, no Quart or Tortoise) they are listed as needing the extra without
#: being imported. `detect` is not among them: it scores on plain floats, with no hub dependency.
NEEDS_HUB_EXTRA = frozenset({"hub", "token", "demo", "host", "wheelhouse", "alerts"})


def _hub_extra_installed() -> bool:
    return importlib.util.find_spec("quart") is not None and importlib.util.find_spec("tortoise") is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        if cmd_name in NEEDS_HUB_EXTRA and not _hub_extra_installed():
            return _unavailable(cmd_name, click.ClickException(
                f"`hostpulse {cmd_name}` needs the hub, which is not installed here: "
                "pip install 'hostpulse[hub]'"))
        try:
            command: Any = getattr(importlib.import_module(module_name), attribute)
        except ModuleNotFoundError as exc:
            error = _needs_hub(cmd_name, exc)
            if not isinstance(error, click.ClickException):
                raise
            return _unavailable(cmd_name, error)
        if module_name.startswith("hostpulse.hub."):
            command.invoke = _hub_extra_hint(cmd_name, command.invoke)
        if not isinstance(command, click.Command):
            raise TypeError(f"COMMANDS[{cmd_name!r}] = {target!r} is not a click command")
        return command


def _needs_hub(cmd_name: str, exc: ModuleNotFoundError) -> click.ClickException | ModuleNotFoundError:
    # `pip install hostpulse` is the agent alone: a hub command without `[hub]` says so.
    if exc.name and not exc.name.startswith("hostpulse"):
        return click.ClickException(
            f"`hostpulse {cmd_name}` needs the hub, which is not installed here (no module "
            f"{exc.name!r}): pip install 'hostpulse[hub]'"
        )
    return exc


def _unavailable(cmd_name: str, error: click.ClickException) -> click.Command:
    """A stand-in for a command whose extra is not installed: ``hostpulse --help`` still lists
    every command (it asks each for its help, and stopped at the first hub one), and running it
    says which extra to install."""

    def refuse(**_: object) -> None:
        raise error

    return click.Command(
        cmd_name,
        callback=refuse,
        help=f"(needs the hub: pip install 'hostpulse[hub]') {error.message}",
        short_help="needs the hub: pip install 'hostpulse[hub]'",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def _hub_extra_hint(cmd_name: str, invoke: Callable[[click.Context], Any]) -> Callable[..., Any]:
    # The hub's commands import Quart, Tortoise… only when run, so the hint wraps the call too.
    def wrapped(ctx: click.Context) -> Any:
        try:
            return invoke(ctx)
        except ModuleNotFoundError as exc:
            raise _needs_hub(cmd_name, exc) from exc

    return wrapped


@click.group(cls=LazyGroup)
@click.version_option(package_name="hostpulse")
def main() -> None:
    """HostPulse: live, per-second charts of your machines and your own data."""


if __name__ == "__main__":
    main()
