"""Issue 12, security items 4 and 6: who may switch access control, and hidden field names never
reach users without schema rights; both backends."""

from __future__ import annotations

import pytest

from tests.api.helpers import DF, DS, create_entity, field
from tests.conftest import Api
from tests.security.helpers import bearer, create_user, password_token

pytestmark = pytest.mark.anyio

STAFF = f"{DS}/EntityService/Staff"


async def staff(api: Api) -> str:
    return await create_entity(
        api, "Staff", [field("fullName"), field("ssn", isRbacEnabled=True, displayName="Social")]
    )


async def headers_for(api: Api, login: str, roles: list[str]) -> dict[str, str]:
    await create_user(api, login, roles)
    return bearer((await password_token(api, login))["access_token"])


async def test_a_designer_cannot_switch_access_control(api: Api) -> None:
    entity_id = await staff(api)
    await api.post(f"{STAFF}/insert", json={"fullName": "Ann", "ssn": "123"})
    designer = await headers_for(api, "designer9", ["Designer"])
    ssn_off = {"updateFields": [field("ssn", isRbacEnabled=False, displayName="Social")]}
    for body in ({"isRbacEnabled": True}, ssn_off):
        response = await api.patch(f"{DF}/Entity/{entity_id}", json=body, headers=designer)
        assert response.status_code == 403, (body, response.text)
    renamed = {"updateFields": [field("ssn", isRbacEnabled=True, displayName="SSN")]}
    assert (await api.patch(f"{DF}/Entity/{entity_id}", json=renamed, headers=designer)).status_code == 200
    metadata = (await api.get(f"{DF}/Entity/Staff/metadata")).json()
    assert metadata["isRbacEnabled"] is False
    assert {f["name"]: f["isRbacEnabled"] for f in metadata["fields"]}["ssn"] is True
    record = (await api.get(f"{STAFF}/read", headers=designer)).json()["value"][0]
    assert "ssn" not in record
    admin = await api.patch(f"{DF}/Entity/{entity_id}", json=ssn_off)
    assert admin.status_code == 200, admin.text
    assert (await api.get(f"{STAFF}/read", headers=designer)).json()["value"][0]["ssn"] == "123"
