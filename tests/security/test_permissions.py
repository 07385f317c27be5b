"""Role, field and record permissions, enforced on every record path and never leaked; both backends."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import DF, DS, create_entity, field
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

CUSTOMER = f"{DS}/EntityService/Customer"


async def setup(api: Api) -> None:
    await create_entity(
        api, "Customer", [field("fullName"), field("salary", "INT", isRbacEnabled=True), field("region")]
    )
    await create_entity(
        api,
        "Invoice",
        [
            field("title"),
            field("customer", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Customer"),
        ],
    )


async def user_headers(api: Api, login: str, roles: list[str], scope: str | None = None) -> dict[str, str]:
    await create_user(api, login, roles)
    return bearer((await password_token(api, login, scope))["access_token"])


async def make_role(api: Api, body: dict[str, Any]) -> str:
    response = await api.post(f"{ADMIN}/roles", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_data_reader_reads_but_cannot_write(api: Api) -> None:
    await setup(api)
    record = (await api.post(f"{CUSTOMER}/insert", json={"fullName": "A", "salary": 10})).json()
    reader = await user_headers(api, "reader1", ["Data Reader"])
    assert (await api.get(f"{CUSTOMER}/read/{record['Id']}", headers=reader)).status_code == 200
    assert (await api.get(f"{CUSTOMER}/read", headers=reader)).json()["totalRecordCount"] == 1
    for method, path, body in [
        ("POST", f"{CUSTOMER}/insert", {"fullName": "B"}),
        ("POST", f"{CUSTOMER}/update/{record['Id']}", {"fullName": "C"}),
        ("DELETE", f"{CUSTOMER}/delete/{record['Id']}", None),
    ]:
        response = await api.request(method, path, json=body, headers=reader)
        assert response.status_code == 403, path
        assert response.json()["error"].startswith("You don't have permission")
    stored = (await api.get(f"{CUSTOMER}/read/{record['Id']}")).json()
    assert stored["fullName"] == "A"


async def test_scope_limits_a_writer(api: Api) -> None:
    await setup(api)
    read_only = await user_headers(api, "writer1", ["Data Writer"], scope="DataService.Data.Read")
    response = await api.post(f"{CUSTOMER}/insert", json={"fullName": "B"}, headers=read_only)
    assert response.status_code == 403
    assert (await api.get(f"{CUSTOMER}/read")).json()["totalRecordCount"] == 0


async def test_role_removed_mid_session(api: Api) -> None:
    await setup(api)
    user_id = await create_user(api, "writer2", ["Data Writer"])
    token = bearer((await password_token(api, "writer2"))["access_token"])
    assert (await api.post(f"{CUSTOMER}/insert", json={"fullName": "B"}, headers=token)).status_code == 200
    removed = await api.request("DELETE", f"{ADMIN}/roles/Data Writer/assignments/{user_id}")
    assert removed.status_code == 204
    # Removing a role ends the principal's sessions (issue 12): the old token no longer authenticates.
    assert (await api.post(f"{CUSTOMER}/insert", json={"fullName": "C"}, headers=token)).status_code == 401
    assert (await api.get(f"{CUSTOMER}/read", headers=token)).status_code == 401
    fresh = bearer((await password_token(api, "writer2"))["access_token"])
    assert (await api.post(f"{CUSTOMER}/insert", json={"fullName": "C"}, headers=fresh)).status_code == 403


async def test_own_records_only(api: Api) -> None:
    await setup(api)
    role = {
        "name": "Own",
        "rights": ["view_schema"],
        "entities": {
            "Customer": {
                "actions": ["read", "create", "update", "delete"],
                "ownOnly": ["read", "update", "delete"],
            }
        },
    }
    await make_role(api, role)
    ann = await user_headers(api, "ann1", ["Own"])
    bob = await user_headers(api, "bob1", ["Own"])
    mine = (await api.post(f"{CUSTOMER}/insert", json={"fullName": "ann's"}, headers=ann)).json()
    theirs = (await api.post(f"{CUSTOMER}/insert", json={"fullName": "bob's"}, headers=bob)).json()
    listed = (await api.get(f"{CUSTOMER}/read", headers=ann)).json()
    assert listed["totalRecordCount"] == 1 and [r["Id"] for r in listed["value"]] == [mine["Id"]]
    for method, path, body in [
        ("GET", f"{CUSTOMER}/read/{theirs['Id']}", None),
        ("POST", f"{CUSTOMER}/update/{theirs['Id']}", {"fullName": "hacked"}),
        ("DELETE", f"{CUSTOMER}/delete/{theirs['Id']}", None),
    ]:
        response = await api.request(method, path, json=body, headers=ann)
        assert response.status_code == 404, (path, response.text)
    batch = await api.post(f"{CUSTOMER}/delete-batch", json=[mine["Id"], theirs["Id"]], headers=ann)
    assert batch.status_code == 400
    assert [r["Id"] for r in batch.json()["successRecords"]] == [mine["Id"]]
    assert (await api.get(f"{CUSTOMER}/read/{theirs['Id']}")).json()["fullName"] == "bob's"


async def test_read_all_update_own_is_403_on_others(api: Api) -> None:
    await setup(api)
    await make_role(
        api,
        {
            "name": "Mixed",
            "entities": {"Customer": {"actions": ["read", "create", "update"], "ownOnly": ["update"]}},
        },
    )
    ann = await user_headers(api, "ann2", ["Mixed"])
    other = (await api.post(f"{CUSTOMER}/insert", json={"fullName": "admin's"})).json()
    assert (await api.get(f"{CUSTOMER}/read/{other['Id']}", headers=ann)).status_code == 200
    response = await api.post(f"{CUSTOMER}/update/{other['Id']}", json={"fullName": "x"}, headers=ann)
    assert response.status_code == 403


async def test_forbidden_field_is_invisible(api: Api) -> None:
    await setup(api)
    customer = (await api.post(f"{CUSTOMER}/insert", json={"fullName": "A", "salary": 99})).json()
    await api.post(f"{DS}/EntityService/Invoice/insert", json={"title": "I", "customer": customer["Id"]})
    reader = await user_headers(api, "reader2", ["Data Reader"])
    record = (await api.get(f"{CUSTOMER}/read/{customer['Id']}", headers=reader)).json()
    assert "salary" not in record and record["fullName"] == "A"
    listed = (await api.get(f"{CUSTOMER}/read", headers=reader)).json()["value"]
    assert all("salary" not in r for r in listed)
    invoice = (
        await api.get(f"{DS}/EntityService/Invoice/read", params={"expansionLevel": 2}, headers=reader)
    ).json()
    assert (
        invoice["value"][0]["customer"]["fullName"] == "A" and "salary" not in invoice["value"][0]["customer"]
    )
    metadata = (await api.get(f"{DF}/Entity/Customer/metadata", headers=reader)).json()
    assert "salary" in {f["name"] for f in metadata["fields"]}  # View All Schema shows definitions
    write = await api.post(f"{CUSTOMER}/insert", json={"fullName": "B", "salary": 1}, headers=reader)
    assert write.status_code == 403


async def test_field_grant_makes_a_field_visible(api: Api) -> None:
    await setup(api)
    await api.post(f"{CUSTOMER}/insert", json={"fullName": "A", "salary": 99})
    await make_role(
        api,
        {
            "name": "Payroll",
            "entities": {"Customer": {"actions": ["read", "update"]}},
            "fields": {"Customer": {"salary": {"read": True, "write": False}}},
        },
    )
    payroll = await user_headers(api, "pay1", ["Payroll"])
    record = (await api.get(f"{CUSTOMER}/read", headers=payroll)).json()["value"][0]
    assert record["salary"] == 99
    denied = await api.post(f"{CUSTOMER}/update/{record['Id']}", json={"salary": 100}, headers=payroll)
    assert denied.status_code == 403


async def test_entity_with_access_control_needs_a_named_grant(api: Api) -> None:
    await setup(api)
    entity_id = (await api.get(f"{DF}/Entity/Customer/metadata")).json()["id"]
    await api.patch(f"{DF}/Entity/{entity_id}/metadata", json={"isRbacEnabled": True})
    writer = await user_headers(api, "writer3", ["Data Writer"])
    assert (await api.get(f"{CUSTOMER}/read", headers=writer)).status_code == 403
    assert (await api.post(f"{CUSTOMER}/insert", json={"fullName": "x"}, headers=writer)).status_code == 403
    assert (await api.get(f"{DS}/EntityService/Invoice/read", headers=writer)).status_code == 200


async def test_schema_changes_need_customize_rights(api: Api) -> None:
    await setup(api)
    writer = await user_headers(api, "writer4", ["Data Writer"])
    body = {"entityDefinition": {"name": "Sneaky", "fields": []}}
    assert (await api.post(f"{DF}/Entity", json=body, headers=writer)).status_code == 403
    designer = await user_headers(api, "designer1", ["Designer"])
    assert (await api.post(f"{DF}/Entity", json=body, headers=designer)).status_code == 200
    audit = (await api.get(f"{ADMIN}/audit")).json()
    assert any(e["action"] == "entity.create" and e["target"] == "Sneaky" for e in audit)
    assert (await api.get(f"{ADMIN}/audit", headers=designer)).status_code == 403


async def test_files_of_other_users_records_are_out_of_reach(api: Api) -> None:
    await create_entity(api, "Doc", [field("title"), field("scan", "UNIQUEIDENTIFIER", "File")])
    await make_role(
        api,
        {
            "name": "OwnDocs",
            "entities": {
                "Doc": {
                    "actions": ["read", "create", "update", "delete"],
                    "ownOnly": ["read", "update", "delete"],
                }
            },
        },
    )
    ann = await user_headers(api, "ann3", ["OwnDocs"])
    bob = await user_headers(api, "bob3", ["OwnDocs"])
    theirs = (await api.post(f"{DS}/EntityService/Doc/insert", json={"title": "bob's"}, headers=bob)).json()
    url = f"{DS}/Attachment/Doc/{theirs['Id']}/scan"
    uploaded = await api.post(url, files={"file": ("a.txt", b"secret", "text/plain")}, headers=bob)
    assert uploaded.status_code == 200, uploaded.text
    assert (await api.get(url, headers=ann)).status_code == 404
    overwrite = await api.post(url, files={"file": ("b.txt", b"mine now", "text/plain")}, headers=ann)
    assert overwrite.status_code == 404
    assert (await api.delete(url, headers=ann)).status_code == 404
    download = await api.get(url, headers=bob)
    assert download.status_code == 200 and download.content == b"secret"
