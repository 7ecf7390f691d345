"""``hostpulse host add`` and ``hostpulse wheelhouse build``: what an admin runs to put agents on hosts.

``host add NAME`` creates the host's token and prints the one command that installs the agent on
it from this hub (hub/api/install.py serves the script). ``wheelhouse build`` fills the directory
the hub serves the wheels from: the agent wheel of this hub's version and its dependencies for
each ``--platform`` asked, downloaded with pip (``--only-binary=:all:``, so nothing is compiled
on the host), so that hosts without internet install from the hub alone.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from hostpulse import __version__
from hostpulse.hub.commands.serve import _with_database, db_option, load_settings

#: A source checkout (pyproject.toml beside the package roots) can build the agent wheel itself.
CHECKOUT = Path(__file__).resolve().parents[2]


@click.group("host")
def host_group() -> None:
    """Add hosts: a token and the one-line install command."""


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, sep, label = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--label")
        labels[key.strip()] = label.strip()
    return labels


@host_group.command("add")
@click.argument("name")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="a label of the host (repeatable)")
@click.option("--hub-url", help="the URL hosts reach this hub at (default: http://BIND)")
@db_option
@click.option("--config", type=click.Path(dir_okay=False))
def host_add(name: str, labels: tuple[str, ...], hub_url: str | None, db: str | None, config: str | None) -> None:
    """Create host NAME's token and print the command that installs its agent (last line of stdout)."""
    if not name.strip():
        raise click.BadParameter("the host name is empty", param_hint="NAME")
    parsed = _labels(labels)
    settings = load_settings(config, db=db)
    from hostpulse.hub.api.install import add_host, install_command

    token = asyncio.run(_with_database(settings.db, add_host(name, parsed)))
    url = hub_url or f"http://{settings.bind}"
    click.echo(f"# host {name}: run this on it as root; the token is shown once", err=True)
    click.echo(install_command(url, token))


@click.group("wheelhouse")
def wheelhouse_group() -> None:
    """The wheels the hub serves to install agents."""


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"pip {' '.join(args[:1])} failed:\n{done.stderr[-4000:]}")


def _agent_wheel(given: Path | None, into: Path) -> Path:
    """The agent wheel of this version: ``--agent-wheel``, else built from this checkout, else
    downloaded from the package index."""
    if given is not None:
        if not given.name.startswith(f"hostpulse-{__version__}-"):
            raise click.BadParameter(f"{given.name} is not hostpulse {__version__}", param_hint="--agent-wheel")
        return given
    if (CHECKOUT / "pyproject.toml").is_file():
        done = subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(into), str(CHECKOUT)],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise click.ClickException(f"building the agent wheel failed:\n{done.stderr[-4000:]}")
    else:
        _pip("download", "--no-deps", "--only-binary=:all:", "--dest", str(into), f"hostpulse=={__version__}")
    found = sorted(into.glob(f"hostpulse-{__version__}-*.whl"))
    if not found:
        raise click.ClickException(f"no hostpulse {__version__} wheel was made in {into}")
    return found[0]


MANYLINUX = re.compile(r"manylinux_2_(\d+)_(\w+)")
LEGACY = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


def platform_tags(tag: str) -> list[str]:
    """``tag`` and every tag a host of that platform also installs: pip does not expand a given
    ``manylinux_2_36_x86_64`` to the older glibc tags most wheels carry (measured: psutil's
    ``manylinux_2_28`` wheel is "not found" for ``--platform manylinux_2_36_x86_64``)."""
    match = MANYLINUX.fullmatch(tag)
    if match is None:
        return [tag]
    glibc, arch = int(match.group(1)), match.group(2)
    tags = []
    for minor in range(glibc, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in LEGACY:
            tags.append(f"{LEGACY[minor]}_{arch}")
    return tags


@wheelhouse_group.command("build")
@click.option("--platform", "platforms", multiple=True, required=True, metavar="TAG",
              help="a pip platform tag of the hosts, e.g. manylinux2014_x86_64 (repeatable)")
@click.option("--python-version", default=f"{sys.version_info.major}.{sys.version_info.minor}",
              show_default=True, help="the hosts' Python (MAJOR.MINOR)")
@click.option("--agent-wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="use this hostpulse wheel instead of building or downloading one")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              help="the wheelhouse (default: the hub's wheelhouse setting)")
@click.option("--config", type=click.Path(dir_okay=False))
def wheelhouse_build(platforms: tuple[str, ...], python_version: str, agent_wheel: Path | None,
                     directory: Path | None, config: str | None) -> None:
    """Put the agent wheel and its dependencies for each --platform in the hub's wheelhouse."""
    target = directory or Path(load_settings(config).wheelhouse)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        wheel = _agent_wheel(agent_wheel, Path(scratch))
        shutil.copy2(wheel, target / wheel.name)
        for platform in platforms:
            # Binary wheels only: a host installs them without a compiler, and pip may resolve
            # for a platform other than this one only so.
            tags = [arg for tag in platform_tags(platform) for arg in ("--platform", tag)]
            _pip("download", "--only-binary=:all:", *tags, "--python-version", python_version,
                 "--implementation", "cp", "--dest", str(target), str(target / wheel.name))
    names = sorted(path.name for path in target.iterdir() if path.suffix == ".whl")
    click.echo(f"wheelhouse {target}: {len(names)} wheel(s) for {', '.join(platforms)} (python {python_version})")
    for name in names:
        click.echo(f"  {name}")
