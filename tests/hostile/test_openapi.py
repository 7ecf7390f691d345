"""schemathesis against the served hub's own /openapi.json: no 500s, no hangs, answers that conform."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, now_ms, run_cli, start_hub

HOST = "fuzz-host"
#: Examples per operation and mode: five API operations plus the pages, so the run stays near a
#: minute on two shared cores.
EXAMPLES = 50
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance,
          response_headers_conformance, content_type_conformance, negative_data_rejection]


@dataclass
class FuzzedHub:
    hub: LiveHub
    agent_token: str
    viewer_token: str
    series_ids: list[int]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzedHub]:
    # Rate limiting off: the fuzzer posts far faster than an agent would (429 is tested elsewhere).
    # Viewer auth on, as beyond loopback: the read API wants a viewer token, ingest an agent's.
    hub = start_hub(tmp_path_factory.mktemp("fuzz"),
                    env={"HOSTPULSE_RATE_LIMIT_PER_S": "0", "HOSTPULSE_VIEWER_AUTH": "on"})
    try:
        viewer = run_cli("token", "create", "fuzzer", "--viewer", "--db", hub.db)
        agent = hub.token(HOST)
        # Some data, so that small generated series ids find a series and its points.
        ts = [now_ms() - 1000 * i for i in range(5, 0, -1)]
        for metric in ("cpu.percent", "mem.percent"):
            answer = hub.post_batch(HOST, [{"metric": metric, "labels": {"a": "b"}, "unit": "%",
                                            "ts": ts, "values": [1.0, 2.0, 3.0, 4.0, 5.0]}])
            assert answer.status_code == 200, answer.text
        ids = [s["id"] for s in httpx.get(
            f"{hub.url}/api/v1/series",
            headers={"Authorization": f"Bearer {viewer.stdout.split()[-1]}"}).json()["series"]]
        yield FuzzedHub(hub, agent, viewer.stdout.split()[-1], ids)
    finally:
        hub.stop()


def one_error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                    case: schemathesis.Case) -> bool | None:
    """Every 4xx and 5xx answer of the API is {"error": {"code": str, "message": str}}."""
    if response.status_code < 400 or not case.path.startswith("/api/"):
        return None
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    return True


@scenario(
    done=f"schemathesis generated {EXAMPLES} valid and {EXAMPLES} invalid requests per API "
         "operation of the served /openapi.json (parameters and bodies), ingest with a real agent "
         "token and the read API with a viewer token (viewer auth on), on a hub holding a few "
         "series; each operation also called once without a token",
    checked="no 5xx; every status is one the operation declares and every body, header and "
            "content type matches the declared response (200 models, the error shape for "
            "400/401/403/404/413/415/429/503); invalid input is refused with a 4xx; without a "
            "token 401; every API error has the one error shape; no request hangs (10 s)",
)
def test_every_api_operation_answers_as_declared(fuzzed: FuzzedHub) -> None:
    failures = fuzz(fuzzed, lambda op: op.path.startswith("/api/"))
    assert not failures, "\n\n".join(failures)


@scenario(
    done=f"schemathesis generated {EXAMPLES} valid and {EXAMPLES} invalid requests per operation "
         "of /openapi.json outside /api/v1 (the pages of hub/app.py), with a viewer token",
    checked="no 5xx, and every status, body and content type is one the operation declares",
)
def test_every_page_operation_answers_as_declared(fuzzed: FuzzedHub) -> None:
    failures = fuzz(fuzzed, lambda op: not op.path.startswith("/api/"))
    assert not failures, "\n\n".join(failures)


@scenario(
    done="read every 429 and 503 response the served /openapi.json declares",
    checked="each declares its Retry-After header (required, integer) in the response's headers, "
            "where OpenAPI tools look for it, and only application/json as content",
)
def test_every_429_and_503_declares_its_retry_after_header(fuzzed: FuzzedHub) -> None:
    paths = httpx.get(f"{fuzzed.hub.url}/openapi.json").json()["paths"]
    retryable = [(path, status, response) for path, operations in paths.items()
                 for operation in operations.values()
                 for status, response in operation["responses"].items() if status in ("429", "503")]
    assert {path for path, _, _ in retryable} >= {"/api/v1/ingest", "/api/v1/hosts", "/healthz"}
    for path, status, response in retryable:
        assert set(response["content"]) == {"application/json"}, (path, status)
        header = response["headers"]["Retry-After"]
        assert header["required"] is True and header["schema"]["type"] == "integer", (path, status)


def fuzz(fuzzed: FuzzedHub, wanted: Callable[[schemathesis.APIOperation], bool]) -> list[str]:
    # One test walking the operations rather than schemathesis' pytest plugin, whose
    # from_fixture() reads a private attribute pytest 9 no longer has.
    api = schemathesis.openapi.from_url(f"{fuzzed.hub.url}/openapi.json")
    operations = [op for op in (r.ok() for r in api.get_all_operations()) if wanted(op)]
    assert operations
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                exercise(operation, mode, fuzzed)
            except Unsatisfiable:
                pass  # nothing to make invalid: no parameters and no body
            except Exception as exc:  # noqa: BLE001 - gather every operation's failure
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:1500]}")
    return failures


def credentials(case: schemathesis.Case, fuzzed: FuzzedHub) -> dict[str, str]:
    if case.path == "/api/v1/ingest":
        if isinstance(case.body, dict) and isinstance(case.body.get("host"), str):
            case.body["host"] = HOST  # else nearly every batch stops at 403 host_mismatch
        return {"Authorization": f"Bearer {fuzzed.agent_token}"}
    series_id = (case.path_parameters or {}).get("series_id")
    if isinstance(series_id, int) and series_id % 2:
        # Half the time a series that exists, so its points (and not only 404s) are checked.
        case.path_parameters["series_id"] = fuzzed.series_ids[series_id % len(fuzzed.series_ids)]
    return {"Authorization": f"Bearer {fuzzed.viewer_token}"}


def exercise(operation: schemathesis.APIOperation, mode: GenerationMode, fuzzed: FuzzedHub) -> None:
    anonymous = mode == GenerationMode.POSITIVE  # the first valid request is also sent tokenless

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        nonlocal anonymous
        headers = credentials(case, fuzzed)
        if anonymous:
            anonymous = False
            response = case.call(timeout=10)
            if case.path.startswith("/api/") or case.path == "/metrics":
                assert response.status_code == 401, (response.status_code, response.text[:300])
            case.validate_response(response, checks=[*CHECKS, one_error_shape])
        case.call_and_validate(headers=headers, timeout=10, checks=[*CHECKS, one_error_shape])

    run()
