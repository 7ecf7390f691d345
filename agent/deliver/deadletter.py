"""The dead-letter file: batches the hub refused as invalid, kept with the reason for a human.

One JSON object per line: ``{"time", "batch_id", "status", "reason", "samples", "batch"}`` where
``batch`` is the decoded payload exactly as sent. When the file passes ``max_bytes`` it is rotated
to ``<name>.1`` (one old generation kept), so a hub that rejects everything cannot fill the disk.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import orjson

from hostpulse.agent.deliver.batch import Batch, decode

log = logging.getLogger("hostpulse.agent.deadletter")


class DeadLetter:
    def __init__(self, path: Path, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes

    def write(self, batch: Batch, status: int | None, reason: str) -> None:
        """Append the batch and why it was refused; log a failure to write, never raise it."""
        try:
            payload: object = decode(batch.body)
        except Exception:  # noqa: BLE001 - keep the reason even if the body is unreadable
            payload = None
        record = {
            "time": int(time.time() * 1000),
            "batch_id": batch.batch_id,
            "status": status,
            "reason": reason,
            "samples": batch.samples,
            "batch": payload,
        }
        line = orjson.dumps(record) + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size + len(line) > self.max_bytes:
                self.path.replace(self.path.with_name(self.path.name + ".1"))
            with self.path.open("ab") as file:
                file.write(line)
        except OSError as exc:
            log.error("could not write batch %s to %s: %s", batch.batch_id, self.path, exc)
