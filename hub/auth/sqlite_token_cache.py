"""The agent-token cache of a hub on SQLite, kept honest by the revocation stamp."""

from __future__ import annotations

from pathlib import Path

from hostpulse.hub.auth.revocation_stamp import Stamp, read_stamp, stamp_path
from hostpulse.hub.auth.token_cache import TokenCache


class SqliteTokenCache(TokenCache):
    """TokenCache on SQLite: its lookups are trusted while ``<db>-revoked`` is the file it was.

    Without it, a hub on SQLite asked the database for the token's host twice per ingest (the
    body middleware's check and the handler's): 18.8 % of the hub's sampled stacks under
    ``bench/hub_requests.py --targets floor,sqlite --profile DIR`` (py-spy, 50 closed-loop agents x
    50 series x 1 point), most of it building the query in Tortoise and pypika, plus the queries'
    time on aiosqlite's thread; the SQLite hub's CPU per request fell from 2.9 to 1.5-1.7 ms."""

    def __init__(self, db_file: str, ttl_s: float = 300.0) -> None:
        super().__init__(f"sqlite://{db_file}", ttl_s)
        self._stamp_path: Path | None = stamp_path(db_file)
        self._stamp: Stamp = read_stamp(self._stamp_path) if self._stamp_path else None

    @property
    def live(self) -> bool:
        """Whether cached lookups may be used now: a stamp that changed empties the cache first
        (and bumps the generation, so a lookup that raced the revocation is not cached)."""
        if self._stamp_path is None:
            return False
        try:
            stamp = read_stamp(self._stamp_path)
        except OSError:  # unreadable: no way to hear of revocations, so trust nothing
            self._revoked()
            return False
        if stamp != self._stamp:
            self._stamp = stamp
            self._revoked()
        return True


def token_cache_for(db_url: str) -> TokenCache:
    """The cache that can hear of revocations on this database: LISTEN/NOTIFY on PostgreSQL, the
    stamp file on SQLite."""
    if db_url.startswith("sqlite://"):
        return SqliteTokenCache(db_url.removeprefix("sqlite://").partition("?")[0])
    return TokenCache(db_url)
