"""Principals and tokens for the security tests, made through the administration API as an admin would."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

ADMIN = "/api/admin"
PASSWORD = "correct horse battery staple"


async def create_user(api: Api, login: str, roles: list[str]) -> str:
    created = await api.post(f"{ADMIN}/users", json={"name": login, "login": login, "password": PASSWORD})
    assert created.status_code == 201, created.text
    user_id = str(created.json()["id"])
    for role in roles:
        assigned = await api.request("PUT", f"{ADMIN}/roles/{role}/assignments/{user_id}")
        assert assigned.status_code == 204, assigned.text
    return user_id


async def password_token(api: Api, login: str, scope: str | None = None) -> dict[str, Any]:
    form = {"grant_type": "password", "username": login, "password": PASSWORD}
    if scope:
        form["scope"] = scope
    response = await api.post("/oauth/token", data=form, headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
