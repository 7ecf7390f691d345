"""Path traversal against the hub's static file route: nothing outside the dashboard's folder."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub

#: Sent byte for byte (http.client does not normalise paths the way httpx and browsers do).
TRAVERSALS = [
    "/../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/swagger-ui/../../../../pyproject.toml",
    "/....//....//....//etc/passwd",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "//etc/passwd",
    "/..\\..\\..\\..\\etc\\passwd",
    "/etc/passwd%00.js",
]


def raw_get(hub: LiveHub, path: str) -> tuple[int, bytes]:
    parts = urlsplit(hub.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@scenario(
    done=f"sent {len(TRAVERSALS)} traversal paths byte for byte to the static file route (dot "
         "segments plain, percent-encoded, double-encoded, overlong UTF-8, backslashes, a NUL)",
    checked="none answers 2xx or 5xx, and no answer holds /etc/passwd's or pyproject.toml's "
            "contents; the hub still answers /healthz",
)
def test_traversal_paths_never_leave_the_static_folder(live_hub: LiveHub) -> None:
    for path in TRAVERSALS:
        status, body = raw_get(live_hub, path)
        assert not 200 <= status < 300 and status < 500, (path, status, body[:200])
        assert b"root:" not in body and b"[project]" not in body, path
    assert live_hub.get("/healthz").status_code == 200
