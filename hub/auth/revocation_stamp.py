"""Revocations on SQLite: a stamp file beside the database, replaced by every revocation.

PostgreSQL tells every hub of a revocation with NOTIFY (hostpulse.hub.auth.token_cache); SQLite
has no such channel, so the stamp stands in for it: ``revoke_tokens`` replaces ``<db>-revoked``
after its commit, and a hub compares the file's identity (inode, mtime, size: one ``stat``, about a
microsecond) before trusting its cached lookups."""

from __future__ import annotations

import os
import time
from pathlib import Path

#: What one ``stat`` of the stamp says; None while no token of this database was ever revoked.
Stamp = tuple[int, int, int] | None


def stamp_path(db_file: str) -> Path | None:
    """The stamp beside a SQLite file; None for an in-memory database (one process, no CLI)."""
    if not db_file or db_file == ":memory:" or db_file.startswith("file::memory:"):
        return None
    return Path(f"{db_file}-revoked")


def read_stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def bump_stamp(path: Path) -> None:
    """Replace the stamp: a new file (so a new inode, whatever the clock's resolution) renamed
    over the old one, readable by its owner only like the database beside it."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        os.write(fd, f"{time.time_ns()}\n".encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
