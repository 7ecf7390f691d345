"""The sender: one POST of one batch to the hub, and what the answer means for that batch.

==================================== ========= =================================================
answer                               outcome   why
==================================== ========= =================================================
2xx (``duplicate`` or not)           OK        committed by the hub (now or by an earlier try)
408, 429, 5xx, no answer at all      RETRY     the hub is busy or away; ``Retry-After`` honoured
404, 405                             RETRY     the URL does not lead to a hub's ingest (a proxy
                                               in between, a typo): the batch may pass once fixed
401 (unknown or revoked token),      REJECTED  refused for good: no retry of this batch can pass,
403 (``host_mismatch``), any other             so it goes to the dead-letter file with the reason
4xx (400, 413, 422 …)                          and newer batches are not held up behind it
==================================== ========= =================================================

A revoked token refuses every batch until the agent is given a new one; each refused batch is
kept in the dead-letter file, so the gap is accounted for (docs/agent.md).
"""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from hostpulse import __version__
from hostpulse.agent.deliver.batch import Batch
from hostpulse.agent.deliver.clock import ClockCheck, http_date, parse_http_date
from hostpulse.agent.secret import Secret
from hostpulse.wire import read_error

log = logging.getLogger("hostpulse.agent.sender")

#: Answers that mean the agent is pointed at the wrong place, not that the hub refused the batch.
WRONG_URL_STATUSES = {404, 405}
MAX_RETRY_AFTER = 600.0


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    status: int | None = None
    reason: str = ""
    retry_after: float | None = None
    duplicate: bool = False
    #: The hub's error code (``host_mismatch``, ``invalid_token`` …), "" when it gave none.
    code: str = ""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        if when is None:
            return None
        seconds = when - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Sender:
    """POSTs gzipped batches to ``{hub}/api/v1/ingest`` with the agent's bearer token.

    Each request carries a ``Date`` header from this host's clock, and the ``Date`` of every answer
    (2xx or not) goes to ``clock``, which measures this host's clock against the hub's.
    """

    def __init__(
        self,
        hub: str,
        token: Secret,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: ClockCheck | None = None,
    ) -> None:
        self.url = hub.rstrip("/") + "/api/v1/ingest"
        self.clock = clock
        self._client = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            # Loading the CA bundle costs ~4 MB of RSS; a plain-http hub never needs it.
            verify=self.url.startswith("https://"),
            headers={
                "Authorization": f"Bearer {token.reveal()}",
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": f"hostpulse-agent/{__version__}",
            },
        )

    def __repr__(self) -> str:
        return f"Sender({self.url!r})"

    async def post(self, batch: Batch) -> Result:
        """Send ``batch`` once; never raises for network or HTTP trouble, returns the outcome."""
        sent, started = time.time(), time.monotonic()
        try:
            response = await self._client.post(
                self.url, content=batch.body, headers={"Date": http_date(sent)}
            )
        except httpx.HTTPError as exc:
            return Result(Outcome.RETRY, reason=f"{type(exc).__name__}: {exc}")
        if self.clock is not None:
            self.clock.observe(
                time.time(), time.monotonic() - started, response.headers.get("Date")
            )
        status = response.status_code
        if 200 <= status < 300:
            body: Any = _json(response)
            duplicate = bool(body.get("duplicate")) if isinstance(body, dict) else False
            return Result(Outcome.OK, status, duplicate=duplicate)
        reason, code = _reason(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status in (408, 429) or status >= 500 or status in WRONG_URL_STATUSES or status < 400:
            return Result(Outcome.RETRY, status, reason, retry_after, code=code)
        return Result(Outcome.REJECTED, status, reason, code=code)

    async def aclose(self) -> None:
        await self._client.aclose()


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(response: httpx.Response) -> tuple[str, str]:
    """A readable reason and the hub's error code ("" when the answer is not the hub's JSON)."""
    error = read_error(_json(response))
    if error is not None:
        code, message = error
        return f"{response.status_code} {code}: {message}", code
    return f"{response.status_code} {response.text[:500]}", ""
