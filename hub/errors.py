"""The hub's exceptions and its one JSON error shape: ``{"error": {"code": …, "message": …}}``.

HubError                 answered with its status and code
 ├── BadRequest          400  malformed or invalid input
 ├── Unauthorized        401  missing, unknown or revoked token
 ├── Forbidden           403  a token used for another host, a foreign Origin
 ├── NotFound            404  no such series
 ├── PayloadTooLarge     413  body or batch over a limit
 ├── UnsupportedMediaType 415 a body that is not JSON
 └── RateLimited         429  a token over its requests per second (with Retry-After)
SettingsError            a setting is wrong: names the key, the value and what was expected

Storage raises its own WriteRefused (hostpulse.hub.storage.writer: write queue full, shutting down,
database away), which the app answers 503 with Retry-After: storage knows nothing of HTTP.
"""

from __future__ import annotations

from typing import Any

# The one error shape is a wire rule the agent reads too (hostpulse.wire).
from hostpulse.wire import error_body


class HubError(Exception):
    status = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


class BadRequest(HubError):
    status, code = 400, "bad_request"


class Unauthorized(HubError):
    status, code = 401, "unauthorized"


class Forbidden(HubError):
    status, code = 403, "forbidden"


class NotFound(HubError):
    status, code = 404, "not_found"


class PayloadTooLarge(HubError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(HubError):
    status, code = 415, "unsupported_media_type"


class RateLimited(HubError):
    status, code = 429, "rate_limited"


class SettingsError(Exception):
    def __init__(self, key: str, value: Any, expected: str) -> None:
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"{key} = {value!r}: expected {expected}")
