"""Which plugin directories the agent imports code from, and what it refuses.

A plugin directory holds Python that the agent runs with its own rights, often root's. So a
directory named by ``plugin_dirs`` (``[agent]`` table, ``HOSTPULSE_PLUGIN_DIRS``) or
``--plugin-dir`` is used only when

* it is written without ``..`` components (a relative path resolves against the config file's
  directory when it comes from the file, else against the working directory; ``~`` is expanded);
* the directory (symlinks resolved) and every directory above it are owned by root or by the
  agent's user, and none is writable by others — except that a parent with the sticky bit
  (``/tmp``) may be, since nobody else can then rename what is in it — nor by a group other than
  root's or the agent user's own;
* each ``*.py`` in it passes the same ownership and permission test, and is not a symlink
  leading out of the directory.

Anything else stops the agent (exit status 2) with a ConfigError naming the key, the value and
the reason, before any plugin is imported. A directory that does not exist is only reported, as
before: nothing can be imported from it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hostpulse.agent.errors import ConfigError


def resolve(key: str, value: str, base: Path | None = None) -> Path:
    """The directory named by ``value``: no ``..``; relative to ``base`` (default: the cwd)."""
    if ".." in Path(value).parts:
        raise ConfigError(key, value, "a directory path without '..' components")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (base if base is not None else Path.cwd()) / path
    return path


def _who(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _unsafe(path: Path, info: os.stat_result, *, parent: bool) -> str | None:
    """Why ``path`` may be changed by someone other than root and the agent's user, or None."""
    me = os.geteuid()
    if info.st_uid not in (0, me):
        return f"{path} is owned by {_who(info.st_uid)}, not by root or {_who(me)}"
    mode = info.st_mode
    if mode & stat.S_IWOTH and not (parent and stat.S_ISDIR(mode) and mode & stat.S_ISVTX):
        return f"{path} is writable by every user (chmod o-w {path})"
    if mode & stat.S_IWGRP and info.st_gid not in (0, os.getegid()):
        return f"{path} is writable by group {info.st_gid} (chmod g-w {path})"
    return None


def check(key: str, value: str, path: Path) -> None:
    """Raise a ConfigError unless code in ``path`` may be imported (see the module docstring)."""
    if not os.path.lexists(path):
        return  # reported by the plugin loader; nothing to import
    real = Path(os.path.realpath(path))
    if not real.is_dir():
        raise ConfigError(key, value, "a directory")

    def refuse(reason: str) -> ConfigError:
        return ConfigError(
            key, value, f"a directory only root or this agent's user can change: {reason}"
        )

    for directory in [real, *real.parents]:
        problem = _unsafe(directory, directory.stat(), parent=directory != real)
        if problem:
            raise refuse(problem)
    for file in sorted(real.glob("*.py")):
        if file.name.startswith("_"):
            continue
        target = Path(os.path.realpath(file))
        if target.parent != real:
            raise refuse(f"{file} is a symlink to {target}, outside the directory")
        problem = _unsafe(target, target.stat(), parent=False)
        if problem:
            raise refuse(problem)


def checked(key: str, value: str, base: Path | None = None) -> Path:
    """``resolve`` then ``check``: the directory to load plugins from."""
    path = resolve(key, value, base)
    check(key, value, path)
    return path
