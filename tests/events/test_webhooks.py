"""Webhooks end to end: a real receiver on 127.0.0.1 verifies Standard Webhooks signatures; retries
keep each record's order; failures disable a subscription; redelivery; permission and filters."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from standardwebhooks.webhooks import Webhook

from recordbase.settings import Settings
from tests.api.helpers import create_entity, field
from tests.conftest import Api, LiveServer
from tests.events.conftest import Receiver
from tests.security.helpers import bearer, create_user, password_token

pytestmark = pytest.mark.anyio
BASE = "/api/EntityService/Note"
HOOKS = "/api/admin/webhooks"
PIPELINER_HOOKS = "/api/v100/rest/spaces/s1/entities/Webhooks"


async def note_entity(api: Api, *extra: dict[str, Any]) -> None:
    await create_entity(api, "Note", [field("title"), field("code"), *extra])


async def subscribe(api: Api, url: str, events: list[str], **more: Any) -> dict[str, Any]:
    response = await api.post(HOOKS, json={"url": url, "events": events, **more})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["secret"].startswith("whsec_")
    return body


async def deliveries(api: Api, hook_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"{HOOKS}/{hook_id}/deliveries")
    assert response.status_code == 200
    found: list[dict[str, Any]] = response.json()
    return found


async def settled(api: Api, hook_id: str, count: int) -> list[dict[str, Any]]:
    """The delivery log once `count` deliveries are no longer pending."""
    for _ in range(400):
        log = await deliveries(api, hook_id)
        if len(log) >= count and all(d["status"] != "pending" for d in log):
            return log
        await anyio.sleep(0.025)
    raise AssertionError(f"deliveries did not settle: {log}")


async def test_deliveries_are_signed_and_carry_the_event(events_api: Api, receiver: Receiver) -> None:
    api = events_api
    await note_entity(api)
    hook = await subscribe(api, receiver.url, ["Note.created", "Note.updated", "Note.deleted"])
    created = (await api.post(f"{BASE}/insert", json={"title": "a"})).json()
    await api.post(f"{BASE}/update/{created['Id']}", json={"code": "c1"})
    await api.delete(f"{BASE}/delete/{created['Id']}")
    got = await receiver.wait_for(3)
    verifier = Webhook(hook["secret"])
    payloads = [verifier.verify(r.body, r.headers) for r in got]
    assert [p["type"] for p in payloads] == ["record.created", "record.updated", "record.deleted"]
    assert [r.headers["webhook-id"] for r in got] == [p["data"]["eventId"] for p in payloads]
    assert [p["data"]["revision"] for p in payloads] == [1, 2, None]
    assert payloads[1]["data"]["changedFields"] == ["code"]
    assert payloads[0]["data"]["recordId"] == created["Id"]
    tampered = dict(got[0].headers, **{"webhook-signature": "v1,AAAA"})
    with pytest.raises(Exception, match="signature"):
        verifier.verify(got[0].body, tampered)
    log = await settled(api, hook["id"], 3)
    assert {d["status"] for d in log} == {"delivered"} and all(d["attempts"] == 1 for d in log)
    listed = (await api.get(HOOKS)).json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]


async def test_a_receiver_that_fails_then_recovers_gets_every_event_in_order(
    events_api: Api, receiver: Receiver
) -> None:
    api = events_api
    await note_entity(api)
    await subscribe(api, receiver.url, ["Note.created", "Note.updated"])
    receiver.statuses = [500, 503, 500]  # fewer failures than the disable threshold (4)
    records = (await api.post(f"{BASE}/insert-batch", json=[{"title": "a"}, {"title": "b"}])).json()
    ids = [r["Id"] for r in records["successRecords"]]
    for round_ in range(3):
        for record_id in ids:
            response = await api.post(f"{BASE}/update/{record_id}", json={"code": f"{round_}"})
            assert response.status_code == 200
    got = await receiver.wait_for(8)
    by_record: dict[str, list[int]] = {}
    for request in got:
        data = request.json["data"]
        by_record.setdefault(data["recordId"], []).append(data["revision"])
    assert by_record == {ids[0]: [1, 2, 3, 4], ids[1]: [1, 2, 3, 4]}
    assert len(receiver.received) == 8 + 3


async def test_repeated_failure_disables_then_enable_and_redeliver(
    events_api: Api, receiver: Receiver
) -> None:
    api = events_api
    await note_entity(api)
    hook = await subscribe(api, receiver.url, ["Note.created"])
    receiver.then = 500
    await api.post(f"{BASE}/insert", json={"title": "a"})
    for _ in range(400):
        state = (await api.get(f"{HOOKS}/{hook['id']}")).json()
        if state["disabled"]:
            break
        await anyio.sleep(0.025)
    assert state["disabled"] and "4 failed" in state["disabledReason"]
    log = await deliveries(api, hook["id"])
    assert log[0]["status"] == "pending" and log[0]["attempts"] == 4 and log[0]["lastStatus"] == 500
    assert log[0]["lastError"] == "HTTP 500"
    receiver.then = 200
    enabled = await api.patch(f"{HOOKS}/{hook['id']}", json={"disabled": False})
    assert enabled.status_code == 200 and not enabled.json()["disabled"]
    first = (await receiver.wait_for(1))[0]
    again = await api.post(f"{HOOKS}/{hook['id']}/deliveries/{log[0]['id']}/redeliver")
    assert again.status_code == 202
    second = (await receiver.wait_for(2))[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    missing = await api.post(f"{HOOKS}/{hook['id']}/deliveries/{hook['id']}/redeliver")
    assert missing.status_code == 404 and missing.json()["code"] == "WEBHOOK_NOT_FOUND"


async def test_a_forbidden_field_never_appears_in_a_payload(events_api: Api, receiver: Receiver) -> None:
    api = events_api
    await note_entity(api, field("salary", isRbacEnabled=True))
    await create_user(api, "reader", ["Data Reader"])
    token = (await password_token(api, "reader"))["access_token"]
    created = await api.post(
        PIPELINER_HOOKS,
        json={"url": receiver.url, "events": ["Note.Create", "Note.Update"]},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    assert created.json()["data"]["events"] == ["Note.Create", "Note.Update"]
    record = (await api.post(f"{BASE}/insert", json={"title": "t", "salary": "SECRET-1"})).json()
    await api.post(f"{BASE}/update/{record['Id']}", json={"salary": "SECRET-2", "code": "k"})
    got = await receiver.wait_for(2)
    for request in got:
        assert b"SECRET" not in request.body and b"salary" not in request.body
    assert got[0].json["data"]["record"]["title"] == "t"
    assert got[1].json["data"]["changedFields"] == ["code"]
    mine = await api.get(PIPELINER_HOOKS, headers=bearer(token))
    assert [h["id"] for h in mine.json()["data"]] == [created.json()["data"]["id"]]


async def test_a_filter_sends_only_matching_records(events_api: Api, receiver: Receiver) -> None:
    api = events_api
    await note_entity(api)
    condition = {"queryFilters": [{"fieldName": "code", "operator": "=", "value": "hot"}]}
    hook = await subscribe(api, receiver.url, ["Note.created"], filter=condition)
    await api.post(
        f"{BASE}/insert-batch", json=[{"title": "a", "code": "cold"}, {"title": "b", "code": "hot"}]
    )
    log = await settled(api, hook["id"], 2)
    assert sorted(d["status"] for d in log) == ["delivered", "skipped"]
    assert [r.json["data"]["record"]["title"] for r in receiver.accepted] == ["b"]


async def test_bad_subscriptions_are_refused(events_api: Api) -> None:
    api = events_api
    await note_entity(api)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"url": "ftp://x", "events": ["Note.created"]}, 400),
        ({"url": "http://127.0.0.1:9/h", "events": []}, 400),
        ({"url": "http://127.0.0.1:9/h", "events": ["Note.exploded"]}, 400),
        ({"url": "http://127.0.0.1:9/h", "events": ["Nothing.created"]}, 404),
        ({"url": "http://127.0.0.1:9/h", "events": ["*"], "filter": {"queryFilters": []}}, 400),
        ({"url": "http://127.0.0.1:9/h", "events": ["Note.*"], "filter": {"queryFilters": [
            {"fieldName": "nope", "operator": "=", "value": "1"}]}}, 400),
    ]  # fmt: skip
    for body, status in cases:
        response = await api.post(HOOKS, json=body)
        assert response.status_code == status, (body, response.text)
        assert set(response.json()) >= {"error", "code", "traceId"}


async def test_webhooks_from_the_cli(settings: Settings, receiver: Receiver) -> None:
    cli = LiveServer(settings)
    created = json.loads(cli.command("webhook", "create", receiver.url, "--event", "*"))
    assert created["secret"].startswith("whsec_") and created["events"] == ["*"]
    assert [h["id"] for h in json.loads(cli.command("webhook", "list"))] == [created["id"]]
    assert json.loads(cli.command("webhook", "disable", created["id"]))["disabled"] is True
    assert json.loads(cli.command("webhook", "enable", created["id"]))["disabled"] is False
    assert json.loads(cli.command("webhook", "deliveries", created["id"])) == []
    cli.command("webhook", "delete", created["id"])
    assert json.loads(cli.command("webhook", "list")) == []
