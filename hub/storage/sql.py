"""The little raw SQL the hot path needs, written once with ``?`` and adapted per dialect."""

from __future__ import annotations

import re
from functools import lru_cache

_QMARK = re.compile(r"\?")


@lru_cache(maxsize=256)
def placeholders(dialect: str, query: str) -> str:
    """Rewrite ``?`` placeholders as ``$1, $2, …`` for asyncpg; SQLite takes them as they are."""
    if dialect != "postgres":
        return query
    counter = iter(range(1, 10_000))
    return _QMARK.sub(lambda _: f"${next(counter)}", query)
