"""Pipeliner dialect scenarios: single records, batch-modify and batch-delete with both rollback
methods, error objects and codes; each on SQLite and PostgreSQL, each write read back.

The seed's own example (shared/seeds/pipeliner-bulk-operations.txt): Accounts whose `owner_id`
points at a Client that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from recordbase.core.actors import SYSTEM
from tests.api.helpers import create_entity, field
from tests.conftest import Api

pytestmark = pytest.mark.anyio

SPACE = "/api/v100/rest/spaces/5b2ad2b4-space"
ACCOUNTS = f"{SPACE}/entities/Accounts"
MISSING = "00000000-0000-0000-0000-000000011a3d"
SEED_KEYS = {
    "code",
    "name",
    "message",
    "entity_id",
    "entity_name",
    "entity_errors",
    "field_errors",
    "step_checklist_errors",
    "entity_index",
    "http_status",
    "success",
}


async def crm(api: Api) -> dict[str, str]:
    """A Client entity and an Account entity whose `owner` relationship points at Client."""
    client = await create_entity(api, "Client", [field("email", isUnique=True)])
    account = await create_entity(
        api,
        "Account",
        [
            field("name", isRequired=True, sql_type={"lengthLimit": 20}),
            field("employees", "INT", sql_type={"minValue": 0, "maxValue": 1000}),
            field("code", isUnique=True),
            field("owner", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Client"),
            field("founded", "DATETIMEOFFSET"),
        ],
    )
    return {"Client": client, "Account": account}


async def create(api: Api, body: dict[str, Any], entity: str = "Accounts") -> dict[str, Any]:
    response = await api.post(f"{SPACE}/entities/{entity}", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def read(api: Api, record_id: str, entity: str = "Accounts", **params: str) -> Any:
    return await api.get(f"{SPACE}/entities/{entity}/{record_id}", params=params)


async def account_names(api: Api) -> set[str]:
    _, entity = await api.services.records.entity("Account")
    page = await api.services.records.page(entity.id, 0, 1000, 0, SYSTEM)
    return {r["name"] for r in page.records}


async def test_single_record_lifecycle(api: Api) -> None:
    await crm(api)
    owner = await create(api, {"email": "o@x.io"}, "Clients")
    created = await create(
        api, {"name": "Acme", "employees": 5, "owner_id": owner["id"], "founded": "2019-02-01T07:41:49.529Z"}
    )
    assert created["revision"] == 1 and created["owner_id"] == owner["id"]
    assert created["founded"] == "2019-02-01 07:41:49.529000+00:00"
    assert created["created"] == created["modified"] and created["created"].endswith("+00:00")
    assert "owner" not in created and "Id" not in created
    got = await read(api, created["id"])
    assert got.status_code == 200 and got.json() == {"success": True, "data": created}
    patched = await api.patch(f"{ACCOUNTS}/{created['id']}", json={"employees": 6})
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert (data["revision"], data["employees"], data["name"]) == (2, 6, "Acme")
    assert data["modified"] >= created["modified"]
    stored = (await read(api, created["id"])).json()["data"]
    assert stored == data
    deleted = await api.delete(f"{ACCOUNTS}/{created['id']}")
    assert deleted.status_code == 200 and deleted.json() == {"success": True, "data": created["id"]}
    assert (await read(api, created["id"])).status_code == 404
    assert await account_names(api) == set()


async def test_expand_adds_the_related_record(api: Api) -> None:
    await crm(api)
    owner = await create(api, {"email": "o@x.io"}, "Clients")
    account = await create(api, {"name": "Acme", "owner_id": owner["id"]}, "Account")
    expanded = (await read(api, account["id"], expand="owner")).json()["data"]
    assert expanded["owner_id"] == owner["id"]
    assert expanded["owner"]["id"] == owner["id"] and expanded["owner"]["email"] == "o@x.io"
    plain = (await read(api, account["id"])).json()["data"]
    assert "owner" not in plain
    bad = await read(api, account["id"], expand="nothing")
    assert bad.status_code == 400 and bad.json()["code"] == 117 and bad.json()["success"] is False
    created = await api.post(
        ACCOUNTS, params={"expand": "owner"}, json={"name": "B", "owner_id": owner["id"]}
    )
    assert created.json()["data"]["owner"]["email"] == "o@x.io"


async def test_a_record_read_can_be_sent_back(api: Api) -> None:
    await crm(api)
    owner = await create(api, {"email": "o@x.io"}, "Clients")
    account = await create(api, {"name": "Acme", "owner_id": owner["id"]})
    echoed = (await read(api, account["id"], expand="owner")).json()["data"]
    response = await api.patch(f"{ACCOUNTS}/{account['id']}", json={**echoed, "name": "Acme 2"})
    assert response.status_code == 200, response.text
    assert response.json()["data"]["name"] == "Acme 2" and response.json()["data"]["revision"] == 2


async def test_unknown_ids_and_entities_are_404(api: Api) -> None:
    await crm(api)
    for record_id in (str(uuid.uuid4()), "not-a-uuid"):
        for method in ("GET", "PATCH", "DELETE"):
            kwargs: dict[str, Any] = {"json": {"name": "x"}} if method == "PATCH" else {}
            response = await api.request(method, f"{ACCOUNTS}/{record_id}", **kwargs)
            assert response.status_code == 404, (method, record_id)
            body = response.json()
            assert body["code"] == 40400 and body["name"] == "ERROR_ENTITY_NOT_FOUND"
            assert body["http_status"] == 404 and body["success"] is False
    unknown = await api.post(f"{SPACE}/entities/Nothings", json={"name": "x"})
    assert unknown.status_code == 404 and unknown.json()["code"] == 40401


async def test_missing_credentials_ask_for_basic_auth(api: Api) -> None:
    await crm(api)
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer rb_wrong"}):
        response = await api.post(f"{ACCOUNTS}/batch-modify", json=[{"name": "x"}], headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="restapi"'
        body = response.json()
        assert body["success"] is False and body["http_status"] == 401 and body["code"] == 40100
    assert await account_names(api) == set()


async def test_seed_rollback_0_writes_nothing_and_answers_422(api: Api) -> None:
    """rollback-method=0: the seed's example, where the updated Account's owner does not exist
    (the seed's `entity_id` is the update's id, and its `entity_index` null)."""
    ids = await crm(api)
    existing = await create(api, {"name": "Account"})
    body = [
        {"id": existing["id"], "name": "Account - Updated", "owner_id": MISSING},
        {"name": "Account - Created"},
    ]
    response = await api.post(f"{ACCOUNTS}/batch-modify", params={"rollback-method": "0"}, json=body)
    assert response.status_code == 422
    error = response.json()
    assert set(error) == SEED_KEYS
    message = f"[owner_id] Relation Account.owner_id={MISSING} to Client doesn't exist!"
    owner_field = await field_id(api, ids["Account"], "owner")
    assert error == {
        "code": 40000,
        "name": "ERROR_ENTITY_VALIDATION",
        "message": "\n" + message,
        "entity_id": existing["id"],
        "entity_name": "Account",
        "entity_errors": [],
        "field_errors": [
            {
                "field_id": owner_field,
                "field_name": "owner_id",
                "name": "ERROR_FIELD_VALIDATION",
                "code": 40002,
                "errors": [
                    {
                        "code": 120,
                        "name": "ERROR_RELATIONS_DOESNT_EXIST",
                        "message": message,
                        "field_id": owner_field,
                        "field_name": "owner_id",
                    }
                ],
            }
        ],
        "step_checklist_errors": [],
        "entity_index": None,
        "http_status": 422,
        "success": False,
    }
    assert await account_names(api) == {"Account"}
    body = [{"id": existing["id"], "name": "Account - Updated"}, {"name": "Created", "owner_id": MISSING}]
    created = await api.post(f"{ACCOUNTS}/batch-modify", json=body)
    assert created.status_code == 422
    assert (created.json()["entity_id"], created.json()["entity_index"]) == (None, 1)  # a create: its place
    assert await account_names(api) == {"Account"}


async def test_rollback_0_reports_the_failing_update_by_id_and_index(api: Api) -> None:
    await crm(api)
    first = await create(api, {"name": "One"})
    response = await api.post(
        f"{ACCOUNTS}/batch-modify",
        json=[{"name": "Two"}, {"id": first["id"], "owner_id": MISSING, "employees": -1}],
    )
    assert response.status_code == 422
    error = response.json()
    assert (error["entity_id"], error["entity_index"]) == (first["id"], None)
    assert {e["field_name"] for e in error["field_errors"]} == {"owner_id", "employees"}
    assert error["message"].count("\n") == 2
    assert await account_names(api) == {"One"}
    assert (await read(api, first["id"])).json()["data"]["revision"] == 1


async def test_seed_rollback_1_saves_the_valid_items(api: Api) -> None:
    await crm(api)
    existing = await create(api, {"name": "Account"})
    body = [
        {"id": existing["id"], "name": "Account - Updated"},
        {"name": "Account - Created", "owner_id": MISSING},
        {"name": "Account - Created 2"},
    ]
    response = await api.post(f"{ACCOUNTS}/batch-modify", params={"rollback-method": "1"}, json=body)
    assert response.status_code == 200
    result = response.json()
    assert result["success"] is False
    first, failed, third = result["data"]
    assert first == existing["id"] and isinstance(third, str)
    assert failed["code"] == 40000 and failed["name"] == "ERROR_ENTITY_VALIDATION"
    assert failed["message"] == f"\n[owner_id] Relation Account.owner_id={MISSING} to Client doesn't exist!"
    assert failed["entity_index"] == 1 and failed["success"] is False
    assert await account_names(api) == {"Account - Updated", "Account - Created 2"}
    assert (await read(api, existing["id"])).json()["data"]["revision"] == 2


async def test_batch_modify_all_valid(api: Api) -> None:
    await crm(api)
    existing = await create(api, {"name": "Old"})
    body = [{"id": existing["id"], "name": "New"}, {"name": "Fresh"}]
    response = await api.post(f"{ACCOUNTS}/batch-modify", json=body)
    assert response.status_code == 200
    data = response.json()
    assert data["success"] is True and data["data"][0] == existing["id"] and len(data["data"]) == 2
    fresh = (await read(api, data["data"][1])).json()["data"]
    assert fresh["name"] == "Fresh" and fresh["revision"] == 1
    assert await account_names(api) == {"New", "Fresh"}


@pytest.mark.parametrize(
    ("item", "code", "name", "field_name"),
    [
        ({}, 40010, "ERROR_FIELD_REQUIRED", "name"),
        ({"name": 5}, 40011, "ERROR_FIELD_INVALID_TYPE", "name"),
        ({"name": "x" * 21}, 40013, "ERROR_FIELD_TOO_LONG", "name"),
        ({"name": "a", "employees": 1001}, 40014, "ERROR_FIELD_OUT_OF_RANGE", "employees"),
        ({"name": "a", "code": "taken"}, 40017, "ERROR_FIELD_NOT_UNIQUE", "code"),
        ({"name": "a", "colour": "red"}, 40018, "ERROR_FIELD_UNKNOWN", "colour"),
        ({"name": "a", "owner_id": MISSING}, 120, "ERROR_RELATIONS_DOESNT_EXIST", "owner_id"),
        ({"name": "a", "owner_id": "nope"}, 40011, "ERROR_FIELD_INVALID_TYPE", "owner_id"),
        ({"name": "a", "founded": "2024-02-30T00:00:00Z"}, 40012, "ERROR_FIELD_INVALID_VALUE", "founded"),
    ],
)
async def test_every_validation_failure_has_its_code(
    api: Api, item: dict[str, Any], code: int, name: str, field_name: str
) -> None:
    await crm(api)
    await create(api, {"name": "holder", "code": "taken"})
    for response in (
        await api.post(ACCOUNTS, json=item),
        await api.post(f"{ACCOUNTS}/batch-modify", params={"rollback-method": "1"}, json=[item]),
    ):
        body = response.json()
        error = body if "code" in body else body["data"][0]
        assert error["code"] == 40000
        nested = error["field_errors"][0]
        assert nested["field_name"] == field_name and nested["code"] == 40002
        assert (nested["errors"][0]["code"], nested["errors"][0]["name"]) == (code, name)
        assert f"'{field_name}'" in error["message"] or f"[{field_name}]" in error["message"]
    assert await account_names(api) == {"holder"}


async def test_batch_modify_duplicates_and_bad_items(api: Api) -> None:
    await crm(api)
    existing = await create(api, {"name": "Old"})
    body = [
        {"id": existing["id"], "name": "A"},
        {"id": existing["id"], "name": "B"},
        {"id": 5, "name": "C"},
        "not an object",
        {"id": str(uuid.uuid4()), "name": "D"},
        {"name": "E", "code": "same"},
        {"name": "F", "code": "same"},
    ]
    response = await api.post(f"{ACCOUNTS}/batch-modify", params={"rollback-method": "1"}, json=body)
    data = response.json()["data"]
    assert data[0] == existing["id"] and isinstance(data[5], str)
    assert data[1]["field_errors"][0]["errors"][0]["name"] == "ERROR_DUPLICATE_IN_BATCH"
    assert data[1]["field_errors"][0]["field_name"] == "id"
    assert data[2]["field_errors"][0]["errors"][0]["code"] == 40011
    assert data[3]["entity_errors"][0]["code"] == 40011
    assert (data[4]["code"], data[4]["http_status"], data[4]["entity_index"]) == (40400, 404, None)
    assert data[6]["field_errors"][0]["errors"][0]["code"] == 40017
    assert await account_names(api) == {"A", "E"}


async def test_batch_delete_both_methods_and_both_body_forms(api: Api) -> None:
    await crm(api)
    ids = [(await create(api, {"name": n}))["id"] for n in "abcd"]
    refused = await api.post(f"{ACCOUNTS}/batch-delete", json=[ids[0], MISSING])
    assert refused.status_code == 404
    error = refused.json()
    assert (error["code"], error["entity_index"], error["entity_id"]) == (40400, None, MISSING)
    assert await account_names(api) == set("abcd")
    partial = await api.post(
        f"{ACCOUNTS}/batch-delete", params={"rollback-method": "1"}, json=[{"id": ids[0]}, MISSING, ids[1]]
    )
    assert partial.status_code == 200
    result = partial.json()
    assert result["success"] is False and result["data"][0] == ids[0] and result["data"][2] == ids[1]
    assert result["data"][1]["code"] == 40400
    assert await account_names(api) == {"c", "d"}
    done = await api.post(f"{ACCOUNTS}/batch-delete", json=[{"id": ids[2]}, ids[3]])
    assert done.json() == {"success": True, "data": [ids[2], ids[3]]}
    assert await account_names(api) == set()


async def test_deleting_a_referenced_client_is_refused(api: Api) -> None:
    await crm(api)
    owner = await create(api, {"email": "o@x.io"}, "Clients")
    await create(api, {"name": "Acme", "owner_id": owner["id"]})
    single = await api.delete(f"{SPACE}/entities/Clients/{owner['id']}")
    assert single.status_code == 409 and single.json()["code"] == 40900
    batch = await api.post(f"{SPACE}/entities/Clients/batch-delete", json=[owner["id"]])
    assert batch.status_code == 409 and batch.json()["entity_index"] is None
    assert (await read(api, owner["id"], "Clients")).status_code == 200


async def test_bad_parameters_and_bodies(api: Api) -> None:
    await crm(api)
    for params, body in (({"rollback-method": "2"}, []), ({"rollback-method": "x"}, []), ({}, {"name": "x"})):
        response = await api.post(f"{ACCOUNTS}/batch-modify", params=params, json=body)
        assert response.status_code == 400
        assert response.json()["code"] == 117 and response.json()["name"] == "ERROR_PARAMETER_INVALID"
    broken = await api.post(ACCOUNTS, content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["code"] == 117
    limit = api.services.settings.batch_limit
    large = await api.post(f"{ACCOUNTS}/batch-modify", json=[{"name": "x"}] * (limit + 1))
    assert large.status_code == 413 and large.json()["code"] == 41300
    empty = await api.post(f"{ACCOUNTS}/batch-modify", json=[])
    assert empty.json() == {"success": True, "data": []}
    assert await account_names(api) == set()


async def test_singular_and_plural_entity_paths(api: Api) -> None:
    await crm(api)
    created = await create(api, {"name": "A"}, "Account")
    for entity in ("Accounts", "Account", "accounts", "ACCOUNT"):
        assert (await read(api, created["id"], entity)).status_code == 200, entity


async def field_id(api: Api, entity_id: str, name: str) -> str:
    _, entity = await api.services.records.entity(entity_id)
    found = entity.field(name)
    assert found is not None
    return found.id
