"""Issue 12, security item 2: password reset, disable and role removal end the principal's sessions;
refresh tokens have an absolute lifetime; concurrent reuse never answers 500. Both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
import sqlalchemy as sa

from recordbase.app import create_app
from recordbase.settings import Settings
from recordbase.storage import tables
from tests.api.helpers import DF
from tests.conftest import Api
from tests.security.helpers import ADMIN, PASSWORD, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

NEW_PASSWORD = "an entirely new passphrase"


async def refresh(api: Api, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": token}
    return await api.post("/oauth/token", data=form, headers={"Authorization": ""})


async def works(api: Api, access: str) -> bool:
    response = await api.get(f"{DF}/Entity", headers=bearer(access))
    assert response.status_code in (200, 401, 403), response.text
    return response.status_code == 200


async def signed_in(api: Api, login: str) -> tuple[str, dict[str, Any]]:
    user_id = await create_user(api, login, ["Data Reader"])
    granted = await password_token(api, login)
    assert await works(api, granted["access_token"])
    return user_id, granted


async def assert_session_ended(api: Api, granted: dict[str, Any]) -> None:
    assert not await works(api, granted["access_token"])
    again = await refresh(api, granted["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text


async def test_password_reset_ends_sessions(api: Api) -> None:
    user_id, granted = await signed_in(api, "reset1")
    rotated = (await refresh(api, granted["refresh_token"])).json()
    changed = await api.patch(f"{ADMIN}/principals/{user_id}", json={"password": NEW_PASSWORD})
    assert changed.status_code in (200, 204), changed.text
    await assert_session_ended(api, rotated)
    assert not await works(api, granted["access_token"])
    form = {"grant_type": "password", "username": "reset1", "password": NEW_PASSWORD}
    fresh = await api.post("/oauth/token", data=form, headers={"Authorization": ""})
    assert fresh.status_code == 200 and await works(api, fresh.json()["access_token"])
    assert (await refresh(api, fresh.json()["refresh_token"])).status_code == 200


async def test_disable_ends_sessions_and_a_disabled_user_cannot_refresh(api: Api) -> None:
    user_id, granted = await signed_in(api, "disable1")
    off = await api.patch(f"{ADMIN}/principals/{user_id}", json={"disabled": True})
    assert off.status_code in (200, 204), off.text
    await assert_session_ended(api, granted)
    on = await api.patch(f"{ADMIN}/principals/{user_id}", json={"disabled": False})
    assert on.status_code in (200, 204)
    await assert_session_ended(api, granted)
    assert await works(api, (await password_token(api, "disable1"))["access_token"])


async def test_role_removal_ends_sessions(api: Api) -> None:
    user_id, granted = await signed_in(api, "unassign1")
    removed = await api.request("DELETE", f"{ADMIN}/roles/Data Reader/assignments/{user_id}")
    assert removed.status_code == 204
    assigned = await api.request("PUT", f"{ADMIN}/roles/Data Reader/assignments/{user_id}")
    assert assigned.status_code == 204
    await assert_session_ended(api, granted)


async def test_application_secret_reset_ends_its_access_tokens(api: Api) -> None:
    app = (await api.post(f"{ADMIN}/applications", json={"name": "robot"})).json()
    assert (await api.request("PUT", f"{ADMIN}/roles/Data Reader/assignments/{app['id']}")).status_code == 204
    form = {
        "grant_type": "client_credentials",
        "client_id": app["clientId"],
        "client_secret": app["clientSecret"],
    }
    granted = await api.post("/oauth/token", data=form, headers={"Authorization": ""})
    assert granted.status_code == 200 and await works(api, granted.json()["access_token"])
    basic = httpx.BasicAuth(app["clientId"], app["clientSecret"])
    pipeliner = "/api/v100/rest/spaces/s/entities/Nothings"
    assert (await api.get(pipeliner, auth=basic, headers={"Authorization": ""})).status_code == 404
    changed = await api.patch(f"{ADMIN}/principals/{app['id']}", json={"password": NEW_PASSWORD})
    assert changed.status_code in (200, 204), changed.text
    assert not await works(api, granted.json()["access_token"])
    assert (await api.get(pipeliner, auth=basic, headers={"Authorization": ""})).status_code == 401


async def refresh_expiries(api: Api, user_id: str) -> set[str]:
    t = tables.refresh_tokens
    async with api.services.database.read() as connection:
        rows = await connection.fetch(sa.select(t.c.expires_at).where(t.c.principal_id == user_id))
    return {str(row[0]) for row in rows}


async def test_refresh_does_not_extend_the_family_lifetime(api: Api) -> None:
    user_id, granted = await signed_in(api, "absolute1")
    token = granted["refresh_token"]
    for _ in range(3):
        await anyio.sleep(1.1)
        response = await refresh(api, token)
        assert response.status_code == 200, response.text
        token = response.json()["refresh_token"]
    expiries = await refresh_expiries(api, user_id)
    assert len(expiries) == 1
    expiry = datetime.fromisoformat(expiries.pop())
    assert abs(expiry - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)


async def test_refresh_lifetime_is_a_setting(settings: Settings) -> None:
    short = settings.model_copy(update={"refresh_token_lifetime": 600})
    app = create_app(short)
    async with app.router.lifespan_context(app):
        token = await app.state.services.tokens.create_admin_token("tests")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=bearer(token)
        ) as client:
            api = Api(client, app.state.services, token)
            user_id, _ = await signed_in(api, "short1")
            expiry = datetime.fromisoformat((await refresh_expiries(api, user_id)).pop())
    assert abs(expiry - (datetime.now(UTC) + timedelta(seconds=600))) < timedelta(minutes=1)


async def test_concurrent_reuse_of_one_refresh_token_never_answers_500(api: Api) -> None:
    _, granted = await signed_in(api, "race1")
    statuses: list[int] = []

    async def use() -> None:
        statuses.append((await refresh(api, granted["refresh_token"])).status_code)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(use)
    assert sorted(set(statuses)) in ([400], [200, 400]), statuses
    assert statuses.count(200) <= 1
    assert PASSWORD  # the helper's password signed in
