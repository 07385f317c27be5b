"""Events across real server processes: the live stream (and its resume), a SIGKILL between commit
and delivery, and two processes on PostgreSQL delivering each event exactly once."""

from __future__ import annotations

import signal
from collections import Counter

import anyio
import httpx
import pytest

from recordbase.settings import Settings
from tests.conftest import LiveServer
from tests.events.conftest import FAST, Receiver

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
FIELDS = [
    {"name": "title", "displayName": "title", "sqlType": {"name": "NVARCHAR"}, "fieldDisplayType": "Basic"},
    {"name": "salary", "displayName": "salary", "sqlType": {"name": "NVARCHAR"}, "fieldDisplayType": "Basic",
     "isRbacEnabled": True},
]  # fmt: skip


def start(settings: Settings) -> LiveServer:
    server = LiveServer(settings)
    server.env.update({f"RECORDBASE_{k.upper()}": str(v) for k, v in FAST.items()})
    server.start()
    if not server.token:
        server.token = (settings.data_dir / "admin-token").read_text().strip()
    return server


def client(server: LiveServer, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token or server.token}"}
    return httpx.Client(base_url=f"{server.url}/api", headers=headers, timeout=30)


def setup_note(server: LiveServer) -> None:
    body = {"displayName": "Note", "entityDefinition": {"name": "Note", "fields": FIELDS}}
    with client(server) as http:
        assert http.post("/Entity", json=body).status_code == 200


def subscribe(server: LiveServer, url: str) -> None:
    with client(server) as http:
        response = http.post("/admin/webhooks", json={"url": url, "events": ["Note.created"]})
    assert response.status_code == 201, response.text


def make_reader(server: LiveServer) -> str:
    """A user with the Data Reader role (the `salary` field is not theirs to read); their token."""
    with client(server) as http:
        return _reader(server, http)


def _reader(server: LiveServer, http: httpx.Client) -> str:
    user = http.post("/admin/users", json={"name": "r", "login": "reader", "password": "pw-reader-123456"})
    assert user.status_code == 201
    assert http.put(f"/admin/roles/Data Reader/assignments/{user.json()['id']}").status_code == 204
    form = {"grant_type": "password", "username": "reader", "password": "pw-reader-123456"}
    return str(http.post(f"{server.url}/oauth/token", data=form).json()["access_token"])


def write_notes(server: LiveServer) -> list[str]:
    with client(server) as http:
        ids = [
            http.post("/EntityService/Note/insert", json={"title": f"n{i}"}).json()["Id"] for i in range(2)
        ]
        http.post(f"/EntityService/Note/update/{ids[0]}", json={"salary": "SECRET", "title": "x"})
    return ids


def insert_batches(first: LiveServer, second: LiveServer) -> None:
    for round_ in range(10):
        server = (first, second)[round_ % 2]
        body = [{"title": f"{round_}-{i}"} for i in range(20)]
        with client(server) as http:
            assert http.post("/EntityService/Note/insert-batch", json=body).status_code == 200


def insert_one(server: LiveServer) -> str:
    with client(server) as http:
        return str(http.post("/EntityService/Note/insert", json={"title": "survivor"}).json()["Id"])


def frames(lines: list[str]) -> list[dict[str, str]]:
    """SSE lines -> events ({id, event, data}); comments and retry lines dropped."""
    found: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in lines:
        if not line:
            if "data" in current:
                found.append(current)
            current = {}
        elif not line.startswith((":", "retry:")):
            key, _, value = line.partition(": ")
            current[key] = value
    return found


async def read_stream(
    server: LiveServer, count: int, headers: dict[str, str] | None = None, token: str | None = None
) -> list[dict[str, str]]:
    auth = {"Authorization": f"Bearer {token or server.token}", **(headers or {})}
    lines: list[str] = []
    async with (
        httpx.AsyncClient(base_url=server.url, headers=auth, timeout=30) as http,
        http.stream("GET", "/api/events", params={"entity": "Note"}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        with anyio.fail_after(20):
            async for line in response.aiter_lines():
                lines.append(line)
                if len(frames([*lines, ""])) >= count and not line:
                    break
    return frames(lines)


async def test_stream_resumes_from_last_event_id_and_hides_fields(settings: Settings) -> None:
    server = start(settings)
    try:
        setup_note(server)
        reader = make_reader(server)
        async with anyio.create_task_group() as group:
            seen: list[list[dict[str, str]]] = []

            async def listen(token: str | None) -> None:
                seen.append(await read_stream(server, 3, token=token))

            group.start_soon(listen, None)
            group.start_soon(listen, reader)
            await anyio.sleep(1.0)
            await anyio.to_thread.run_sync(write_notes, server)
        for got in seen:
            assert [f["event"] for f in got] == ["record.created", "record.created", "record.updated"]
            positions = [int(f["id"]) for f in got]
            assert positions == sorted(positions) and len(set(positions)) == 3
        assert any("salary" in f["data"] for got in seen for f in got), "the admin sees the field name"
        reader_frames = next(got for got in seen if not any("salary" in f["data"] for f in got))
        assert '"changedFields":["title"]' in reader_frames[2]["data"]
        resumed = await read_stream(server, 2, headers={"Last-Event-ID": seen[0][0]["id"]})
        assert [f["id"] for f in resumed] == [f["id"] for f in seen[0][1:]]
    finally:
        server.stop()


async def test_sigkill_between_commit_and_delivery_still_delivers(
    settings: Settings, receiver: Receiver
) -> None:
    receiver.then = 500
    server = start(settings)
    try:
        setup_note(server)
        subscribe(server, receiver.url)
        created = insert_one(server)
        for _ in range(3000):  # up to 30 s: a loaded CI machine is slow to dispatch and send
            if receiver.received:
                break
            await anyio.sleep(0.01)
        assert receiver.received and not receiver.accepted
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        receiver.then = 200
        server.start()
        got = await receiver.wait_for(1)
        assert got[0].json["data"]["recordId"] == created
    finally:
        server.stop()


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)  # several processes share PostgreSQL only
async def test_two_postgres_processes_deliver_each_event_once(settings: Settings, receiver: Receiver) -> None:
    assert settings.is_postgres
    first = start(settings)
    second = start(settings)
    second.token = first.token
    try:
        setup_note(first)
        subscribe(first, receiver.url)
        await anyio.sleep(0.3)
        await anyio.to_thread.run_sync(insert_batches, first, second)
        got = await receiver.wait_for(200)
        await anyio.sleep(1.0)
        ids = Counter(r.headers["webhook-id"] for r in receiver.accepted)
        assert len(ids) == 200 and max(ids.values()) == 1
        assert len(receiver.received) == 200 == len(got)
    finally:
        first.stop()
        second.stop()
