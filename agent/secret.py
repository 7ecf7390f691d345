"""A secret string that never shows itself in a ``repr``, a traceback's locals or a log line."""

from __future__ import annotations

import logging


class Secret:
    """Wraps a token; ``reveal()`` is the only way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


class MaskFilter(logging.Filter):
    """Replaces the secret in every log record that passes through a handler, as a last line of defence."""

    def __init__(self, secret: Secret) -> None:
        super().__init__()
        self._value = secret.reveal()

    def filter(self, record: logging.LogRecord) -> bool:
        if self._value and len(self._value) >= 4:
            message = record.getMessage()
            if self._value in message:
                record.msg = message.replace(self._value, "********")
                record.args = None
        return True
