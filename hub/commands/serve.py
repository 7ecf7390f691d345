"""``hostpulse hub`` and ``hostpulse token``."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable
from typing import Any, TypeVar

import click

from hostpulse.hub.errors import SettingsError
from hostpulse.hub.settings import Settings

T = TypeVar("T")

db_option = click.option(
    "--db",
    envvar="HOSTPULSE_DB",
    help="Tortoise URL: sqlite://PATH or postgres://USER@HOST:PORT/DB",
)


def load_settings(config: str | None, **overrides: Any) -> Settings:
    try:
        return Settings.load(config, **overrides)
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None


@click.command("hub")
@db_option
@click.option("--bind", help="HOST:PORT to listen on (default 127.0.0.1:8700)")
@click.option("--redis", help="redis://… to share the live view between hubs")
@click.option("--config", type=click.Path(dir_okay=False), help="TOML file with a [hub] table")
@click.option(
    "--certfile", type=click.Path(dir_okay=False, exists=True), help="PEM certificate: serve HTTPS"
)
@click.option(
    "--keyfile", type=click.Path(dir_okay=False, exists=True), help="PEM private key of --certfile"
)
@click.option("--log-level", default="INFO", show_default=True)
def hub_command(
    db: str | None,
    bind: str | None,
    redis: str | None,
    config: str | None,
    certfile: str | None,
    keyfile: str | None,
    log_level: str,
) -> None:
    """Run the hub: ingest, storage, the API and the dashboard."""
    from hostpulse.hub.web.server import run_hub

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(
        config, db=db, bind=bind, redis=redis, certfile=certfile, keyfile=keyfile
    )
    if bool(settings.certfile) != bool(settings.keyfile):
        raise click.UsageError("--certfile and --keyfile go together")
    scheme = "https" if settings.certfile else "http"
    click.echo(f"HostPulse hub on {scheme}://{settings.bind}/ (database {settings.db})", err=True)
    run_hub(settings)


@click.group("token")
def token_group() -> None:
    """Create and revoke agent tokens."""


@token_group.command("create")
@click.argument("name")
@db_option
@click.option("--config", type=click.Path(dir_okay=False))
@click.option(
    "--viewer", is_flag=True, help="a viewer token (dashboard, read API) instead of an agent's"
)
def token_create(name: str, db: str | None, config: str | None, viewer: bool) -> None:
    """Print a new token for host NAME (the last line of stdout); only its hash is stored.

    With --viewer, NAME labels a person or tool allowed to read, when the hub listens beyond
    loopback."""
    from hostpulse.hub.auth.agent_tokens import create_token
    from hostpulse.hub.auth.viewer_tokens import create_viewer_token

    work = create_viewer_token(name) if viewer else create_token(name)
    token = asyncio.run(_with_database(load_settings(config, db=db).db, work))
    kind = "viewer" if viewer else "host"
    click.echo(f"# token for {kind} {name}; it is shown once", err=True)
    click.echo(token)


@token_group.command("revoke")
@click.argument("name")
@db_option
@click.option("--config", type=click.Path(dir_okay=False))
@click.option("--viewer", is_flag=True, help="revoke NAME's viewer tokens instead of a host's")
def token_revoke(name: str, db: str | None, config: str | None, viewer: bool) -> None:
    """Revoke every token of host NAME (or viewer NAME) at once."""
    from hostpulse.hub.auth.agent_tokens import revoke_tokens
    from hostpulse.hub.auth.viewer_tokens import revoke_viewer_tokens

    work = revoke_viewer_tokens(name) if viewer else revoke_tokens(name)
    count = asyncio.run(_with_database(load_settings(config, db=db).db, work))
    click.echo(f"revoked {count} token(s) of {name}")
    if count == 0:
        sys.exit(1)


async def _with_database(db_url: str, work: Awaitable[T]) -> T:
    from hostpulse.hub.storage.database import close_database, open_database

    await open_database(db_url)
    try:
        return await work
    finally:
        await close_database()
