"""Installing an agent from the hub alone: the script, the unit, the wheels, and a token check.

======================================= ==========================================================
route                                   answer
======================================= ==========================================================
GET /install.sh                         the installer (hub/api/install.sh), this hub's URL and
                                        version filled in: ``curl -fsSL HUB/install.sh | sh -s --``
GET /install/hostpulse-agent.service    the agent's systemd unit the script installs
GET /install/version                    the hub's version and the command that upgrades an agent
GET /install/wheels/                    the wheelhouse as a ``pip --find-links`` page of links
GET /install/wheels/NAME                one wheel of it (the agent's, or a dependency's)
GET /api/v1/install/whoami              with an agent token: the host it is bound to; 401 if
                                        unknown or revoked (the script checks before it installs)
======================================= ==========================================================

None of them asks for a viewer token: a host being installed has none, and the wheels are the
published software. The wheelhouse is ``Settings.wheelhouse``, filled by ``hostpulse wheelhouse
build`` (hub/commands/host.py); while it holds no agent wheel of this hub's version the wheel
routes answer 404 ``wheelhouse_empty`` naming the command.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from quart import Blueprint, Response, request, send_from_directory
from quart_schema import hide

from hostpulse import __version__
from hostpulse.hub.errors import NotFound, Unauthorized
from hostpulse.hub.state import hub_state

blueprint = Blueprint("install", __name__)

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "install.sh"
UNIT = HERE / "hostpulse-agent.service"
#: A wheel's or sdist's file name; anything else (``..``, ``/``) is not a file of the wheelhouse.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*\.(whl|tar\.gz)")


def hub_url() -> str:
    """This hub as the client reached it (scheme and Host header): what the host will reach too."""
    return request.host_url.rstrip("/")


def agent_wheel(directory: Path) -> Path | None:
    """The agent wheel of this hub's version in ``directory``, if built."""
    found = sorted(directory.glob(f"hostpulse-{__version__}-*.whl")) if directory.is_dir() else []
    return found[0] if found else None


def _wheelhouse() -> Path:
    directory = Path(hub_state().settings.wheelhouse)
    if agent_wheel(directory) is None:
        raise NotFound(
            f"no agent wheel of hostpulse {__version__} in the wheelhouse {directory}: "
            "on the hub, run `hostpulse wheelhouse build --platform ...`",
            code="wheelhouse_empty",
        )
    return directory


@blueprint.get("/install.sh")
@hide
async def install_script() -> Response:
    text = SCRIPT.read_text().replace("@HUB_URL@", hub_url()).replace("@VERSION@", __version__)
    return Response(text, content_type="text/x-shellscript; charset=utf-8")


@blueprint.get("/install/version")
@hide
async def version() -> dict[str, str]:
    """The hub's version and the command that upgrades a host's agent to it (the dashboard marks
    hosts whose agent is older); the script takes the token already installed on the host."""
    return {"version": __version__, "upgrade": f"curl -fsSL {hub_url()}/install.sh | sudo sh"}


@blueprint.get("/install/hostpulse-agent.service")
@hide
async def unit_file() -> Response:
    return Response(UNIT.read_text(), content_type="text/plain; charset=utf-8")


@blueprint.get("/install/wheels/")
@hide
async def wheel_index() -> Response:
    directory = _wheelhouse()
    links = "\n".join(
        f'<a href="{html.escape(path.name)}">{html.escape(path.name)}</a><br>'
        for path in sorted(directory.iterdir())
        if path.is_file() and FILE_NAME.fullmatch(path.name)
    )
    page = f"<!doctype html>\n<title>hostpulse {__version__} wheelhouse</title>\n{links}\n"
    return Response(page, content_type="text/html; charset=utf-8")


@blueprint.get("/install/wheels/<name>")
@hide
async def wheel_file(name: str) -> Response:
    directory = _wheelhouse()
    if not FILE_NAME.fullmatch(name) or not (directory / name).is_file():
        raise NotFound(f"no file {name!r} in the wheelhouse", code="no_such_wheel")
    return await send_from_directory(directory, name)


@blueprint.get("/api/v1/install/whoami")
@hide
async def whoami() -> dict[str, str]:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an agent token is required: Authorization: Bearer <token>", code="missing_token")
    host = await hub_state().tokens.host(token.strip())
    if host is None:
        raise Unauthorized("unknown or revoked token", code="invalid_token")
    return {"host": host.name, "hub_version": __version__}
