"""One agent per state directory: an flock'd ``agent.lock`` holding the owner's PID.

Two agents on one state dir (both default to /var/lib/hostpulse as root) would replay and delete
each other's spool files; the second one stops at start instead, naming the first one's PID.
The kernel drops an flock when its process dies, so a crash leaves no stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from hostpulse.agent.errors import AgentError


class StateDirBusy(AgentError):
    """Another running agent holds this state directory."""


class StateDirLock:
    def __init__(self, fd: int, path: Path) -> None:
        self._fd, self.path = fd, path

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / "agent.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StateDirBusy(
                f"state_dir {str(state_dir)!r} is in use by another agent (PID {owner}, lock "
                f"{path}): stop it, or give this agent its own state_dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd, path)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
