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


async def clerk(api: Api) -> dict[str, str]:
    """A user with a grant on Staff but no schema rights (no View All Schema)."""
    await staff(api)
    await create_entity(api, "Vault", [field("code")])
    role = {"name": "Clerk", "entities": {"Staff": {"actions": ["read", "create"]}}}
    assert (await api.post("/api/admin/roles", json=role)).status_code == 201
    return await headers_for(api, "clerk1", ["Clerk"])


def field_names(entity: dict[str, object]) -> set[str]:
    fields = entity["fields"]
    assert isinstance(fields, list)
    return {str(f["name"]) for f in fields}


async def test_listing_and_metadata_hide_unreadable_fields(api: Api) -> None:
    headers = await clerk(api)
    listed = await api.get(f"{DF}/Entity", headers=headers)
    assert listed.status_code == 200, listed.text
    assert [e["name"] for e in listed.json()] == ["Staff"]
    assert "fullName" in field_names(listed.json()[0]) and "ssn" not in field_names(listed.json()[0])
    metadata = await api.get(f"{DF}/Entity/Staff/metadata", headers=headers)
    assert metadata.status_code == 200 and "ssn" not in field_names(metadata.json())
    assert "Social" not in listed.text + metadata.text
    admin = (await api.get(f"{DF}/Entity/Staff/metadata")).json()
    assert "ssn" in field_names(admin)


async def test_openapi_shows_only_what_the_caller_may_see(api: Api) -> None:
    headers = await clerk(api)
    for path in ("/api/openapi.json", "/api/openapi/dataservice.json"):
        document = await api.get(path, headers=headers)
        assert document.status_code == 200, document.text
        assert "Staff" in document.text and "fullName" in document.text
        assert "ssn" not in document.text and "Vault" not in document.text
    full = (await api.get("/api/openapi.json")).text
    assert "ssn" in full and "Vault" in full


async def test_no_did_you_mean_hint_names_a_hidden_field(api: Api) -> None:
    headers = await clerk(api)
    query = {"filterGroup": {"queryFilters": [{"fieldName": "SSN", "operator": "=", "value": "1"}]}}
    for who in (headers, {}):
        response = await api.post(f"{STAFF}/query", json=query, **({"headers": who} if who else {}))
        assert response.status_code == 400, response.text
        assert "ssn" not in response.text
    near = {"filterGroup": {"queryFilters": [{"fieldName": "FullName", "operator": "=", "value": "1"}]}}
    hinted = await api.post(f"{STAFF}/query", json=near, headers=headers)
    assert hinted.status_code == 400 and "Did you mean 'fullName'" in hinted.text
