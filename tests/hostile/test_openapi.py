"""schemathesis against the served hub's own /openapi.json: no 500s, no hangs, answers that conform."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
)

from tests.reliability.scenarios import scenario
from tests.support.hub_process import LiveHub, start_hub

HOST = "fuzz-host"
#: Examples per operation: about a dozen operations, so the whole run stays well under a minute.
EXAMPLES = 25


@pytest.fixture(scope="module")
def fuzzed_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    # Rate limiting off: the fuzzer posts far faster than an agent would (429 is tested elsewhere).
    hub = start_hub(tmp_path_factory.mktemp("fuzz"), env={"HOSTPULSE_RATE_LIMIT_PER_S": "0"})
    try:
        yield hub
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
    done=f"schemathesis generated {EXAMPLES} valid and {EXAMPLES} invalid requests per operation of "
         "the served /openapi.json (parameters and bodies), ingest with a real agent token",
    checked="no 5xx, answers match their declared schema and content type, invalid input is "
            "refused with a 4xx, every API error has the one error shape, no request hangs (10 s)",
)
def test_every_operation_survives_generated_requests(fuzzed_hub: LiveHub) -> None:
    # One test walking the operations rather than schemathesis' pytest plugin, whose
    # from_fixture() reads a private attribute pytest 9 no longer has.
    api = schemathesis.openapi.from_url(f"{fuzzed_hub.url}/openapi.json")
    token = fuzzed_hub.token(HOST)
    failures: list[str] = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert any(op.path == "/api/v1/ingest" for op in operations)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                exercise(operation, mode, token)
            except Unsatisfiable:
                pass  # nothing to make invalid: no parameters and no body
            except Exception as exc:  # noqa: BLE001 - gather every operation's failure
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)


def exercise(operation: schemathesis.APIOperation, mode: GenerationMode, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        headers = {}
        if case.path == "/api/v1/ingest":
            headers["Authorization"] = f"Bearer {token}"
            if isinstance(case.body, dict) and isinstance(case.body.get("host"), str):
                case.body["host"] = HOST  # else nearly every batch stops at 403 host_mismatch
        case.call_and_validate(
            headers=headers,
            timeout=10,
            checks=[not_a_server_error, response_schema_conformance, content_type_conformance,
                    negative_data_rejection, one_error_shape],
        )

    run()
