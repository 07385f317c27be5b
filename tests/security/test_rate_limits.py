"""Issue 12, security item 5: the failed-login limit (ten per login in five minutes) holds across
server processes: two app instances on one database share the counters. Both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest

from recordbase.app import create_app
from recordbase.settings import Settings
from tests.security.helpers import ADMIN, PASSWORD

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def instance(settings: Settings, stack: AsyncExitStack) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    token = await app.state.services.tokens.create_admin_token("tests")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def login(password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": "multi.worker", "password": password}


async def test_failed_logins_are_counted_across_processes(settings: Settings) -> None:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(instance(settings, stack))
        second = await stack.enter_async_context(instance(settings, stack))
        body = {"name": "multi", "login": "multi.worker", "password": PASSWORD}
        assert (await first.post(f"{ADMIN}/users", json=body)).status_code == 201
        statuses = []
        for attempt in range(12):
            client = first if attempt % 2 else second
            response = await client.post("/oauth/token", data=login(f"guess{attempt}"))
            statuses.append(response.status_code)
        assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429], statuses
        for client in (first, second):
            limited = await client.post("/oauth/token", data=login(PASSWORD))
            assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 300
            assert limited.json()["code"] == "RATE_LIMITED"
        other = {"name": "other", "login": "other.user", "password": PASSWORD}
        assert (await second.post(f"{ADMIN}/users", json=other)).status_code == 201
        form = {"grant_type": "password", "username": "other.user", "password": PASSWORD}
        assert (await first.post("/oauth/token", data=form)).status_code == 200
