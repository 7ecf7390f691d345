"""``hostpulse demo``: a hub on an embedded SQLite file plus a local agent, in one command."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path

import click

from hostpulse.hub.settings import Settings

DEMO_SOURCES = ("demo_random", "demo_sensor", "demo_spikes")


def agent_config(hub_url: str, host: str, state_dir: Path) -> str:
    tables = "\n".join(f"[plugins.{name}]\nenabled = true\n" for name in DEMO_SOURCES)
    return (
        "# Written by `hostpulse demo`: the local agent with the system and demo sources.\n"
        f"[agent]\nhub = {hub_url!r}\nhost = {host!r}\nstate_dir = {str(state_dir)!r}\n\n{tables}"
    )


def _port_is_free(bind: str) -> bool:
    host, _, port = bind.rpartition(":")
    with socket.socket() as s:
        try:
            s.bind((host or "127.0.0.1", int(port)))
        except OSError:
            return False
    return True


@click.command("demo")
@click.option("--bind", default="127.0.0.1:8700", show_default=True, help="HOST:PORT for the hub")
@click.option(
    "--data-dir",
    default=".hostpulse/demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="where the SQLite file, the agent config and its spool live",
)
@click.option(
    "--host",
    "host_name",
    default=socket.gethostname(),
    show_default=True,
    help="the local agent's host name",
)
def demo_command(bind: str, data_dir: str, host_name: str) -> None:
    """Run a hub on an embedded SQLite file and a local agent with the system and demo sources."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not _port_is_free(bind):
        raise click.UsageError(f"{bind} is in use; pass --bind 127.0.0.1:OTHERPORT")
    root = Path(data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    settings = Settings.load(None, db=f"sqlite://{root / 'hub.sqlite3'}", bind=bind)
    asyncio.run(_run(settings, root, host_name))


async def _run(settings: Settings, root: Path, host_name: str) -> None:
    from hostpulse.hub.auth.agent_tokens import create_token
    from hostpulse.hub.storage.database import close_database, open_database
    from hostpulse.hub.web.server import serve_hub

    await open_database(settings.db)
    try:
        token = await create_token(host_name)
    finally:
        await close_database()
    url = f"http://{settings.bind}"
    config_path = root / "agent.toml"
    config_path.write_text(agent_config(url, host_name, root / "agent-state"))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    hub = asyncio.create_task(serve_hub(settings, stop))
    await asyncio.sleep(0.5)
    agent = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hostpulse.hub.commands.main",
        "agent",
        "--config",
        str(config_path),
        env={**os.environ, "HOSTPULSE_TOKEN": token},
    )
    click.echo(
        f"\n  HostPulse demo: dashboard at {url}/   (API docs at {url}/docs; Ctrl-C stops)\n",
        err=True,
    )
    click.echo(f"{url}/")
    try:
        while not stop.is_set() and agent.returncode is None and not hub.done():
            await asyncio.sleep(0.5)
    finally:
        if agent.returncode is None:
            agent.send_signal(signal.SIGTERM)
            await asyncio.wait_for(agent.wait(), 15)
        stop.set()
        await hub
