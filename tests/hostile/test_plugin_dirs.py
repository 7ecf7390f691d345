"""Path traversal and unsafe plugin directories, through the real CLI: each bad setting stops
``hostpulse agent --once`` and ``hostpulse plugins`` with a message naming the key and the value,
exit status 2, and not one line of the planted plugin runs (it would write a marker file)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.reliability.scenarios import scenario
from tests.support.hub_process import HOSTPULSE

#: A plugin whose import leaves a marker: proof that its code ran.
PLANTED = """
from pathlib import Path
Path({marker!r}).write_text("imported")

from hostpulse import Sample, Source, hookimpl

class Planted(Source):
    name = "planted"
    def collect(self):
        return [Sample("planted.x", 1)]

@hookimpl
def register_sources():
    return [Planted]
"""

COMMANDS = {
    "agent --once": ["agent", "--once", "--source", "memory"],
    "plugins": ["plugins"],
}

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")


def plant(directory: Path, marker: Path, name: str = "planted") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.py"
    path.write_text(PLANTED.format(marker=str(marker)))
    return path


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOSTPULSE, *args], check=False, capture_output=True, text=True, timeout=60, cwd=cwd,
        env={**os.environ, "HOSTPULSE_PLUGINS": "memory", **(env or {})},
    )


def config_naming(tmp_path: Path, value: str, name: str = "agent") -> Path:
    config = tmp_path / "etc" / f"{name}.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[agent]\nplugin_dirs = [{value!r}]\n".replace("'", '"'))
    return config


def setups(tmp_path: Path, marker: Path) -> dict[str, tuple[list[str], str, dict[str, str]]]:
    """Each bad setting: (the arguments that name it, the key and value the error must name, env)."""
    root = tmp_path / "srv"
    good = root / "good"
    plant(good, marker, "fine")

    traversal = root / "evil"
    plant(traversal, marker)
    (root / "etc-plugins").mkdir(parents=True)

    world = root / "world"
    plant(world, marker)
    world.chmod(0o777)

    open_parent = root / "open" / "plugins"
    plant(open_parent, marker)
    (root / "open").chmod(0o777)  # anyone may rename "plugins" and put their own in its place

    writable_file = root / "wfile"
    plant(writable_file, marker).chmod(0o666)

    escaping = root / "escaping"
    escaping.mkdir()
    (escaping / "planted.py").symlink_to(plant(root / "elsewhere", marker))

    cases: dict[str, tuple[list[str], str, dict[str, str]]] = {
        "'..' in the config file": (
            ["--config", str(config_naming(tmp_path, "../srv/etc-plugins/../evil", "dots"))],
            "agent.plugin_dirs = '../srv/etc-plugins/../evil'", {}),
        "'..' in --plugin-dir": (
            ["--plugin-dir", f"{good}/../evil"], f"--plugin-dir = '{good}/../evil'", {}),
        "'..' in HOSTPULSE_PLUGIN_DIRS": (
            [], f"HOSTPULSE_PLUGIN_DIRS = '{good}/../evil'",
            {"HOSTPULSE_PLUGIN_DIRS": f"{good}/../evil"}),
        "a world-writable directory": (
            ["--config", str(config_naming(tmp_path, str(world), "world"))],
            f"agent.plugin_dirs = '{world}'", {}),
        "a world-writable parent": (
            ["--plugin-dir", str(open_parent)], f"--plugin-dir = '{open_parent}'", {}),
        "a world-writable plugin file": (
            ["--plugin-dir", str(writable_file)], f"--plugin-dir = '{writable_file}'", {}),
        "a plugin symlinked from outside": (
            ["--plugin-dir", str(escaping)], f"--plugin-dir = '{escaping}'", {}),
    }
    if os.geteuid() == 0:
        foreign = root / "foreign"
        plant(foreign, marker)
        os.chown(foreign, 65534, 65534)
        cases["a directory owned by another user"] = (
            ["--plugin-dir", str(foreign)], f"--plugin-dir = '{foreign}'", {})
    return cases


REASONS = {
    "'..' in the config file": "without '..' components",
    "'..' in --plugin-dir": "without '..' components",
    "'..' in HOSTPULSE_PLUGIN_DIRS": "without '..' components",
    "a world-writable directory": "is writable by every user (chmod o-w",
    "a world-writable parent": "/open is writable by every user",
    "a world-writable plugin file": "planted.py is writable by every user",
    "a plugin symlinked from outside": "is a symlink to",
    "a directory owned by another user": "is owned by",
}


@scenario(
    done="named plugin directories with '..' (in the config file, --plugin-dir and "
         "HOSTPULSE_PLUGIN_DIRS), a world-writable directory, a directory under a world-writable "
         "parent without the sticky bit, a world-writable plugin file, a plugin symlinked from "
         "outside its directory and (as root) a directory owned by another user, each holding a "
         "plugin that writes a marker file when imported; ran `hostpulse agent --once` and "
         "`hostpulse plugins` with each",
    checked="every run exits 2 with 'Error: KEY = VALUE: expected …' naming the setting as written "
            "and the reason (the '..', the path that others can write, the symlink's target, the "
            "owner); the marker file never exists: no code from the directory ran",
)
@pytest.mark.parametrize("command", list(COMMANDS))
def test_unsafe_plugin_directories_are_refused_before_any_import(
    tmp_path: Path, command: str
) -> None:
    marker = tmp_path / "marker"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    failures = []
    for case, (args, named, env) in setups(tmp_path, marker).items():
        done = run([*COMMANDS[command], *args], cwd=workdir, env=env)
        if done.returncode != 2 or f"Error: {named}: expected" not in done.stderr \
                or REASONS[case] not in done.stderr:
            failures.append(f"{case}: exit {done.returncode}, stderr {done.stderr.strip()!r}")
        if marker.exists():
            failures.append(f"{case}: the planted plugin ran")
            marker.unlink()
    assert not failures, "\n".join(failures)


@scenario(
    done="named a safe plugin directory relatively in a config file, and ran the CLI from another "
         "working directory; also through a symlink to it",
    checked="the relative path resolves against the config file's directory, not the working "
            "directory: the plugin is listed and collected (exit 0); a symlinked directory is "
            "judged by where it leads",
)
def test_a_relative_plugin_directory_resolves_against_the_config_file(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    config = config_naming(tmp_path, "plugins")
    plant(config.parent / "plugins", marker)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    plant(elsewhere / "plugins", tmp_path / "wrong-marker", "wrong")  # what the cwd would give

    listed = run(["plugins", "--config", str(config)], cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    assert "planted" in listed.stdout and "wrong" not in listed.stdout
    once = run(["agent", "--once", "--config", str(config), "--source", "planted"], cwd=elsewhere)
    assert once.returncode == 0, once.stderr
    assert '"metric":"planted.x"' in once.stdout
    assert marker.exists() and not (tmp_path / "wrong-marker").exists()

    link = tmp_path / "link"
    link.symlink_to(config.parent / "plugins")
    marker.unlink()
    linked = run(["plugins", "--plugin-dir", str(link)], cwd=elsewhere)
    assert linked.returncode == 0, linked.stderr
    assert "planted" in linked.stdout and marker.exists()


@scenario(
    done="ran `hostpulse agent init out.toml --plugin-dir DIR` with each unsafe --plugin-dir above "
         "('..', world-writable, under a world-writable parent, a world-writable plugin, a "
         "symlink out), each holding a plugin that writes a marker file when imported",
    checked="exit 2 with 'Error: --plugin-dir = VALUE: expected …' and the reason; no marker "
            "file (nothing imported) and no config file written",
)
def test_agent_init_refuses_unsafe_plugin_directories_by_their_flag(tmp_path: Path) -> None:
    """`hostpulse agent init --plugin-dir DIR` lists DIR's sources in the file it writes, so it
    imports them: the same checks, named as the flag was given (once `--plugin-dirs`)."""
    marker = tmp_path / "marker"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    flagged = {
        case: (args, named)
        for case, (args, named, env) in setups(tmp_path, marker).items()
        if args[:1] == ["--plugin-dir"] and not env
    }
    assert len(flagged) >= 4
    for case, (args, named) in flagged.items():
        done = run(["agent", "init", "out.toml", *args], cwd=workdir)
        assert done.returncode == 2, (case, done.stderr)
        assert f"Error: {named}: expected" in done.stderr and REASONS[case] in done.stderr, case
        assert not marker.exists(), f"{case}: the planted plugin ran"
        assert not (workdir / "out.toml").exists(), f"{case}: a config file was written"
