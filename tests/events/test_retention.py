"""Outbox retention and the event metrics."""

from __future__ import annotations

import time

import anyio
import pytest

from tests.api.helpers import create_entity, field
from tests.conftest import Api
from tests.events.conftest import Receiver
from tests.events.test_outbox import events

pytestmark = pytest.mark.anyio


async def test_retention_removes_old_dispatched_events_but_not_waiting_ones(
    events_api: Api, receiver: Receiver
) -> None:
    api = events_api
    await create_entity(api, "Note", [field("title")])
    receiver.then = 500
    created = await api.post("/api/admin/webhooks", json={"url": receiver.url, "events": ["Note.created"]})
    hook = f"/api/admin/webhooks/{created.json()['id']}"
    await api.post("/api/EntityService/Note/insert-batch", json=[{"title": "a"}, {"title": "b"}])
    worker = api.services.events
    while await worker.dispatch_once():
        pass
    await api.patch(hook, json={"disabled": True})
    await api.post("/api/EntityService/Note/insert", json={"title": "c"})
    while await worker.dispatch_once():
        pass
    assert len(await events(api)) == 3
    waiting = [e.id for e in await events(api)][:2]
    assert await worker.outbox.prune(time.time() + 1) == 2  # "c" and the schema change of "Note"
    assert [e.id for e in await events(api)] == waiting, "events a delivery still waits for are kept"
    assert (await api.delete(hook)).status_code == 204
    assert await worker.outbox.prune(time.time() + 1) == 2
    assert await events(api) == []


async def test_metrics_show_backlog_and_latency(events_api: Api, receiver: Receiver) -> None:
    api = events_api
    await create_entity(api, "Note", [field("title")])
    await api.post("/api/admin/webhooks", json={"url": receiver.url, "events": ["Note.created"]})
    await api.post("/api/EntityService/Note/insert", json={"title": "a"})
    await receiver.wait_for(1)
    for _ in range(200):
        await api.services.events.measure_once()
        text = (await api.get("/metrics")).text
        if "recordbase_webhook_deliveries_pending 0.0" in text:
            break
        await anyio.sleep(0.025)
    assert "recordbase_webhook_delivery_latency_seconds_count 1.0" in text
    assert "recordbase_events_undispatched 0.0" in text
    assert 'recordbase_webhook_attempts_total{outcome="delivered"} 1.0' in text
