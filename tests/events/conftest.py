"""Fixtures for event tests: an app with short poll and retry intervals, and a real HTTP receiver
on 127.0.0.1 that records what it is sent and answers as told."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import orjson
import pytest

from recordbase.app import create_app
from recordbase.services import Services
from recordbase.settings import Settings
from tests.conftest import Api

FAST = {
    "events_poll_interval": 0.05,
    "events_heartbeat": 0.5,
    "webhook_retry_base": 0.05,
    "webhook_retry_max_interval": 0.2,
    "webhook_timeout": 5.0,
    "webhook_private_targets": True,
}


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    """Answers `statuses` in turn (then `then`), and records every request it got."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    then: int = 200
    received: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, request: Received) -> int:
        with self.lock:
            self.received.append(request)
            status = self.statuses.pop(0) if self.statuses else self.then
            if 200 <= status < 300:
                self.accepted.append(request)
            return status

    async def wait_for(self, count: int, seconds: float = 60.0) -> list[Received]:
        """The accepted requests, once there are at least `count` of them."""
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds / 0.02)):
            if len(self.accepted) >= count or time.monotonic() > deadline:
                break
            await anyio.sleep(0.02)
        assert len(self.accepted) >= count, f"{len(self.accepted)} of {count} deliveries arrived"
        return list(self.accepted)


def serve(receiver: Receiver) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.answer(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = serve(found)
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


def fast(settings: Settings, **more: Any) -> Settings:
    return settings.model_copy(update={**FAST, **more})


@pytest.fixture
async def events_api(settings: Settings) -> AsyncIterator[Api]:
    """The `api` fixture, with short poll and retry intervals (and auto-disable after 4 failures)."""
    app = create_app(fast(settings, webhook_disable_after=4))
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        token = await services.tokens.create_admin_token("tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            yield Api(client, services, token)
