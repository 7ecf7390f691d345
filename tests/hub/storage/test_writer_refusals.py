"""The writer refuses with a storage error, not an HTTP one; the app answers it 503 with Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from hostpulse.hub.errors import HubError
from hostpulse.hub.settings import Settings
from hostpulse.hub.storage.writer import PendingBatch, Writer, WriteRefused
from hostpulse.hub.web.app import create_app


def pending(batch_id: str) -> PendingBatch:
    return PendingBatch(host_id=1, batch_id=batch_id, agent_version="", blocks=[], samples=0, received_at=0)


async def test_a_full_queue_is_refused_as_queue_full() -> None:
    writer = Writer(1)  # not started: the first batch waits in the queue
    waiting = asyncio.create_task(writer.submit(pending("a")))
    await asyncio.sleep(0)
    with pytest.raises(WriteRefused) as refused:
        await writer.submit(pending("b"))
    assert (refused.value.code, refused.value.retry_after_s) == ("queue_full", 1)
    assert not isinstance(refused.value, HubError)  # storage raises no HTTP error
    waiting.cancel()


async def test_the_app_answers_a_refused_write_503_with_retry_after() -> None:
    settings = Settings(viewer_auth="off")
    app = create_app(settings)

    @app.get("/refuse-for-test")
    async def refuse() -> None:
        raise WriteRefused("the write queue is full; retry later", code="queue_full", retry_after_s=1)

    response = await app.test_client().get("/refuse-for-test", headers={"Host": settings.bind})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert await response.get_json() == {
        "error": {"code": "queue_full", "message": "the write queue is full; retry later"}
    }
