"""Personal tokens: listed without secrets, revoked by id; another principal's are out of reach."""

from __future__ import annotations

import pytest

from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio


async def personal_token(api: Api, headers: dict[str, str], name: str) -> str:
    created = await api.post(f"{ADMIN}/tokens", json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    return str(created.json()["token"])


async def test_own_tokens_are_listed_without_secrets_and_revoked_at_once(api: Api) -> None:
    ann_id = await create_user(api, "ann", ["Data Writer"])
    await create_user(api, "bob", ["Data Writer"])
    ann = bearer((await password_token(api, "ann"))["access_token"])
    bob = bearer((await password_token(api, "bob"))["access_token"])
    script = await personal_token(api, ann, "script")
    await personal_token(api, ann, "laptop")
    listed = (await api.get(f"{ADMIN}/tokens", headers=ann)).json()
    assert {t["name"] for t in listed} == {"script", "laptop"} and all(
        t["principalId"] == ann_id for t in listed
    )
    assert script not in str(listed) and "hash" not in str(listed).lower()
    assert (await api.get(f"{ADMIN}/tokens", headers=bob)).json() == []
    assert (await api.get(f"{ADMIN}/tokens", params={"principalId": ann_id}, headers=bob)).status_code == 403
    script_id = next(t["id"] for t in listed if t["name"] == "script")
    assert (await api.delete(f"{ADMIN}/tokens/{script_id}", headers=bob)).status_code == 404
    assert (await api.get("/api/Entity", headers=bearer(script))).status_code == 200
    assert (await api.delete(f"{ADMIN}/tokens/{script_id}", headers=ann)).status_code == 204
    assert (await api.get("/api/Entity", headers=bearer(script))).status_code == 401
    after = (await api.get(f"{ADMIN}/tokens", params={"principalId": ann_id})).json()
    assert next(t for t in after if t["id"] == script_id)["revokedAt"] is not None
    assert (await api.delete(f"{ADMIN}/tokens/nope", headers=ann)).status_code == 404


async def test_an_administrator_lists_and_revokes_anyones_tokens(api: Api) -> None:
    await create_user(api, "bob", ["Data Writer"])
    bob = bearer((await password_token(api, "bob"))["access_token"])
    token = await personal_token(api, bob, "cron")
    everyone = (await api.get(f"{ADMIN}/tokens", params={"principalId": "*"})).json()
    cron = next(t for t in everyone if t["name"] == "cron")
    assert (await api.delete(f"{ADMIN}/tokens/{cron['id']}")).status_code == 204
    assert (await api.get("/api/Entity", headers=bearer(token))).status_code == 401
    audit = (await api.get(f"{ADMIN}/audit")).json()
    assert any(entry.get("action") == "token.revoke" for entry in audit)
