"""Issue 11: a request's security state (revocations, disabled flag, session epoch, security version)
is served from memory between security changes, and a change still takes effect: at once in the
process that made it and, on SQLite, in every process on the file; on PostgreSQL when the other
process hears the change's notification. Two apps on one database stand for two processes
(each has its own connections, caches and, on PostgreSQL, its own listening connection).
Both backends."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import asyncpg
import httpx
import pytest

from recordbase.app import create_app
from recordbase.settings import Settings
from recordbase.storage.database import open_database
from recordbase.storage.identity import SECURITY_CHANNEL, IdentityStore
from recordbase.storage.migrate import migrate
from recordbase.storage.timed import TimedDatabase
from tests.api.helpers import DF
from tests.conftest import POSTGRES_URL, Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

NOTIFICATION_SECONDS = 5.0


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if await check():
            return True
        if time.monotonic() > deadline:
            return False
        await anyio.sleep(0.02)


@pytest.fixture
async def other(settings: Settings, api: Api) -> AsyncIterator[Api]:
    """A second app on the same database (another process, as far as caches can tell)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {api.token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as c:
            yield Api(c, app.state.services, api.token)


async def answers(api: Api, access: str) -> int:
    response = await api.get(f"{DF}/Entity", headers=bearer(access))
    assert response.status_code in (200, 401, 403), response.text
    return response.status_code


async def test_a_change_made_by_this_process_counts_on_the_very_next_request(api: Api) -> None:
    user_id = await create_user(api, "cached1", ["Data Reader"])
    access = (await password_token(api, "cached1"))["access_token"]
    for _ in range(3):  # served from the cache after the first
        assert await answers(api, access) == 200
    assert (await api.patch(f"{ADMIN}/principals/{user_id}", json={"disabled": True})).status_code == 204
    assert await answers(api, access) == 401


async def test_another_process_s_revocation_and_role_change_take_effect(
    api: Api, other: Api, backend_name: str
) -> None:
    user_id = await create_user(api, "cached2", ["Data Reader"])
    access = (await password_token(api, "cached2"))["access_token"]
    assert await answers(api, access) == 200 and await answers(other, access) == 200
    # A role taken back elsewhere: the security version moves, permissions are recomputed here.
    removed = await other.request("DELETE", f"{ADMIN}/roles/Data Reader/assignments/{user_id}")
    assert removed.status_code == 204, removed.text
    seconds = 0.0 if backend_name == "sqlite" else NOTIFICATION_SECONDS
    assert await eventually(lambda: _is(api, access, 401), seconds)  # removal ends the sessions too
    # A personal token revoked elsewhere.
    made = await api.post(f"{ADMIN}/tokens", json={"name": "cached"})
    personal = made.json()["token"]
    listed = (await api.get(f"{ADMIN}/tokens")).json()
    token_id = next(t["id"] for t in (listed["value"] if isinstance(listed, dict) else listed)
                    if t["name"] == "cached")  # fmt: skip
    assert await answers(api, personal) == 200
    assert (await other.delete(f"{ADMIN}/tokens/{token_id}")).status_code == 204
    assert await eventually(lambda: _is(api, personal, 401), seconds)


async def _is(api: Api, access: str, status: int) -> bool:
    return await answers(api, access) == status


async def counting_store(settings: Settings) -> tuple[IdentityStore, list[int], TimedDatabase]:
    checkouts: list[int] = []
    database = TimedDatabase(await open_database(settings), checkouts.append)
    return IdentityStore(database), checkouts, database


async def test_the_state_is_read_once_until_a_security_change_commits(settings: Settings) -> None:
    await migrate(settings)
    here, checkouts, database = await counting_store(settings)
    there, _, elsewhere = await counting_store(settings)
    try:
        await here.watch()
        keys = ["jti:one"]
        first = await here.request_state("someone", keys)
        assert not first.revoked and checkouts == [1, -1]
        for _ in range(5):
            assert await here.request_state("someone", keys) == first
        assert checkouts == [1, -1], "served from memory: no connection checked out"
        async with elsewhere.transaction() as connection:
            await there.revoke(connection, "jti:one", "2999-01-01T00:00:00+00:00")

        async def revoked() -> bool:
            return (await here.request_state("someone", keys)).revoked

        assert await eventually(revoked, 0.0 if settings.database_url == "" else NOTIFICATION_SECONDS)
        assert len(checkouts) > 2
        # A change that rolls back moves nothing.
        settled = len(checkouts)
        with pytest.raises(RuntimeError):
            async with elsewhere.transaction() as connection:
                await there.revoke(connection, "jti:two", "2999-01-01T00:00:00+00:00")
                raise RuntimeError("rolled back")
        await anyio.sleep(0.2)
        assert (await here.request_state("someone", keys)).revoked and len(checkouts) == settled
    finally:
        await database.close()
        await elsewhere.close()


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)  # SQLite has no connection to lose
async def test_postgres_trusts_no_cache_once_its_listening_connection_is_lost(settings: Settings) -> None:
    await migrate(settings)
    here, checkouts, database = await counting_store(settings)
    try:
        assert database.generation(SECURITY_CHANNEL) != database.generation(SECURITY_CHANNEL)
        await here.watch()
        await here.request_state("someone", [])
        await here.request_state("someone", [])
        assert checkouts == [1, -1]
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE query LIKE 'LISTEN %' AND query LIKE $1",
                f"%{settings.database_schema}%",
            )
        finally:
            await admin.close()
        assert ended == 1

        async def uncached() -> bool:
            return database.generation(SECURITY_CHANNEL) != database.generation(SECURITY_CHANNEL)

        assert await eventually(uncached, NOTIFICATION_SECONDS)
        settled = len(checkouts)
        await here.request_state("someone", [])
        assert len(checkouts) == settled + 2, "every request asks the database again"
    finally:
        await database.close()
