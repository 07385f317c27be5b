"""Issue 12, security items 1 and 7: a write-only grant on a hidden unique field is no existence
oracle, and the built-in Administrator covers entities with access control on; both backends."""

from __future__ import annotations

import pytest

from tests.api.helpers import DF, DS, create_entity, field
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

MEMBERS = f"{DS}/EntityService/Member"
PIPELINER = "/api/v100/rest/spaces/5b2ad2b4-space/entities/Members"
FORBIDDEN = "You don't have permission"


async def write_only_badge(api: Api) -> dict[str, str]:
    """A Member entity whose unique `badge` is hidden; a role may write it but not read it."""
    await create_entity(api, "Member", [field("fullName"), field("badge", isUnique=True, isRbacEnabled=True)])
    stored = await api.post(f"{MEMBERS}/insert", json={"fullName": "Ann", "badge": "B-1"})
    assert stored.status_code == 200, stored.text
    role = {
        "name": "Enroller",
        "entities": {"Member": {"actions": ["read", "create", "update"]}},
        "fields": {"Member": {"badge": {"read": False, "write": True}}},
    }
    assert (await api.post(f"{ADMIN}/roles", json=role)).status_code == 201
    await create_user(api, "enroller", ["Enroller"])
    return bearer((await password_token(api, "enroller"))["access_token"])


async def member_count(api: Api) -> int:
    return int((await api.get(f"{MEMBERS}/read")).json()["totalRecordCount"])


async def test_insert_of_an_unreadable_unique_field_is_403_whatever_the_value(api: Api) -> None:
    headers = await write_only_badge(api)
    for badge in ("B-1", "B-2"):
        one = await api.post(f"{MEMBERS}/insert", json={"fullName": "X", "badge": badge}, headers=headers)
        assert one.status_code == 403, one.text
        assert one.json()["error"].startswith(FORBIDDEN)
        batch = await api.post(
            f"{MEMBERS}/insert-batch", json=[{"fullName": "X", "badge": badge}], headers=headers
        )
        assert batch.status_code in (400, 403), batch.text
        assert "NOT_UNIQUE" not in batch.text and FORBIDDEN in batch.text
    assert await member_count(api) == 1


async def test_pipeliner_create_of_an_unreadable_unique_field_is_403(api: Api) -> None:
    headers = await write_only_badge(api)
    for badge in ("B-1", "B-2"):
        created = await api.post(PIPELINER, json={"fullName": "X", "badge": badge}, headers=headers)
        assert created.status_code == 403, created.text
        batch = await api.post(
            f"{PIPELINER}/batch-modify", json=[{"fullName": "X", "badge": badge}], headers=headers
        )
        assert batch.status_code in (403, 422), batch.text
        assert "NOT_UNIQUE" not in batch.text and "unique" not in batch.text.lower()
    assert await member_count(api) == 1


async def test_bulk_upload_error_file_does_not_depend_on_hidden_values(api: Api) -> None:
    headers = await write_only_badge(api)
    text = "fullName,badge\r\nX,B-1\r\nY,B-2\r\n"
    response = await api.post(
        f"{MEMBERS}/bulk-upload", files={"file": ("m.csv", text.encode(), "text/csv")}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["insertedRecords"] == 0
    errors = await api.get(body["errorFileLink"], headers=headers)
    lines = errors.text.splitlines()[1:]
    assert len(lines) == 2 and all(FORBIDDEN in line for line in lines), errors.text
    assert await member_count(api) == 1


async def test_a_field_grant_with_read_and_write_still_writes(api: Api) -> None:
    await create_entity(api, "Member", [field("fullName"), field("badge", isRbacEnabled=True)])
    role = {
        "name": "Badges",
        "entities": {"Member": {"actions": ["read", "create"]}},
        "fields": {"Member": {"badge": {"read": True, "write": True}}},
    }
    assert (await api.post(f"{ADMIN}/roles", json=role)).status_code == 201
    await create_user(api, "badges", ["Badges"])
    headers = bearer((await password_token(api, "badges"))["access_token"])
    created = await api.post(f"{MEMBERS}/insert", json={"fullName": "X", "badge": "B-9"}, headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["badge"] == "B-9"


async def test_administrator_covers_entities_with_access_control(api: Api) -> None:
    await create_entity(api, "Member", [field("fullName"), field("badge", isRbacEnabled=True)])
    entity_id = (await api.get(f"{DF}/Entity/Member/metadata")).json()["id"]
    patched = await api.patch(f"{DF}/Entity/{entity_id}/metadata", json={"isRbacEnabled": True})
    assert patched.status_code == 200, patched.text
    created = await api.post(f"{MEMBERS}/insert", json={"fullName": "Ann", "badge": "B-1"})
    assert created.status_code == 200, created.text
    listed = await api.get(f"{MEMBERS}/read")
    assert listed.status_code == 200 and listed.json()["value"][0]["badge"] == "B-1"
    await create_user(api, "admin2", ["Administrator"])
    admin2 = bearer((await password_token(api, "admin2"))["access_token"])
    assert (await api.get(f"{MEMBERS}/read", headers=admin2)).json()["totalRecordCount"] == 1
    update = await api.post(f"{MEMBERS}/update/{created.json()['Id']}", json={"badge": "B-2"}, headers=admin2)
    assert update.status_code == 200, update.text
    assert (await api.delete(f"{MEMBERS}/delete/{created.json()['Id']}", headers=admin2)).status_code == 200
    assert await member_count(api) == 0
