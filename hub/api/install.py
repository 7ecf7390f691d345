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
POST /api/v1/install/hosts              an admin adds a host: ``{"name", "labels"}`` → its new
                                        token and the install command (the dashboard's "Add host")
======================================= ==========================================================

None but the last asks for a viewer token: a host being installed has none, and the wheels are
the published software. Adding a host makes a credential, so it takes an admin: a viewer signed
in with a token whose name is in the hub's ``admins`` setting (comma-separated names); a hub that
asks for no viewer tokens (loopback, ``viewer_auth`` off) has no one to call admin and refuses it
403 ``admin_required`` — there, ``hostpulse host add`` does the same from the shell. The wheelhouse is ``Settings.wheelhouse``, filled by ``hostpulse wheelhouse
build`` (hub/commands/host.py); while it holds no agent wheel of this hub's version the wheel
routes answer 404 ``wheelhouse_empty`` naming the command.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from quart import Blueprint, Response, request, send_from_directory
from quart_schema import hide

from hostpulse import __version__
from hostpulse.hub.auth.agent_tokens import create_token
from hostpulse.hub.auth.viewers import presented_token, viewer_for, viewers_required
from hostpulse.hub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from hostpulse.hub.state import hub_state
from hostpulse.hub.storage.models import Host
from hostpulse.wire import MAX_LABEL_LENGTH, MAX_LABELS

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


def install_command(hub: str, token: str) -> str:
    """The one line that installs the agent on a host, as ``host add`` prints it."""
    return f"curl -fsSL {hub.rstrip('/')}/install.sh | sudo sh -s -- --token {token}"


async def add_host(name: str, labels: dict[str, str]) -> str:
    """Create ``name`` with ``labels`` (merged into any it has) and a new token for it."""
    token = await create_token(name)
    if labels:
        host = await Host.get(name=name)
        host.labels = {**host.labels, **labels}
        await host.save(update_fields=["labels"])
    return token


async def require_admin() -> str:
    """The name of the admin making this request; 401/403 otherwise."""
    settings = hub_state().settings
    admins = {name.strip() for name in settings.admins.split(",") if name.strip()}
    if not viewers_required(settings) or not admins:
        raise Forbidden(
            "adding hosts here needs an admin: set viewer_auth = \"on\" and admins = \"NAME\", "
            "then sign in with NAME's viewer token; or run `hostpulse host add NAME` on the hub",
            code="admin_required",
        )
    token = presented_token()
    viewer = await viewer_for(token) if token else None
    if viewer is None:
        raise Unauthorized("sign in with an admin's viewer token", code="missing_token")
    if viewer.name not in admins:
        raise Forbidden(f"viewer {viewer.name!r} is not one of the hub's admins", code="admin_required")
    return viewer.name


def _new_host(body: Any) -> tuple[str, dict[str, str]]:
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object: {"name": "web-1", "labels": {"env": "prod"}}')
    name, labels = body.get("name"), body.get("labels", {})
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
        raise BadRequest(f"name must be a host name of 1 to 255 characters, not {name!r}", code="invalid_host")
    if not isinstance(labels, dict) or len(labels) > MAX_LABELS or not all(
        isinstance(k, str) and isinstance(v, str) and k and len(k) <= MAX_LABEL_LENGTH and len(v) <= MAX_LABEL_LENGTH
        for k, v in labels.items()
    ):
        raise BadRequest(
            f"labels must map at most {MAX_LABELS} non-empty names to strings of at most "
            f"{MAX_LABEL_LENGTH} characters", code="invalid_labels",
        )
    return name.strip(), labels


@blueprint.post("/api/v1/install/hosts")
@hide
async def new_host() -> tuple[dict[str, str], int]:
    await require_admin()
    name, labels = _new_host(await request.get_json(force=True, silent=True))
    token = await add_host(name, labels)
    return {"host": name, "token": token, "command": install_command(hub_url(), token)}, 201
