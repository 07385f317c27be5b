"""The seeds' examples (UiPath Data Service, Pipeliner bulk operations) reproduced, on SQLite and PostgreSQL.

Each test names the seed example it follows; the answer is compared with the seed's shape and the
database is read afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import DS, create_entity, field, standard_entities
from tests.conftest import Api
from tests.security.helpers import bearer, create_user, password_token

pytestmark = pytest.mark.anyio

BASE = f"{DS}/EntityService/Customer"
MISSING = "00000000-0000-0000-0000-000000011a3d"
SYSTEM = {"Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime"}


async def read_all(api: Api, entity: str = "Customer") -> list[dict[str, Any]]:
    response = await api.get(f"{DS}/EntityService/{entity}/read", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


async def test_delete_batch_answers_each_record_as_it_was(api: Api) -> None:
    """Seed "Delete Multiple Entity Records": successRecords and failureRecords carry whole records."""
    await standard_entities(api)
    body = [
        {"fullName": "Ann", "age": 30, "status": 1, "tags": [0, 2], "birthday": "2021-03-04"},
        {"fullName": "Bob", "email": "bob@x.io"},
        {"fullName": "Cid"},
    ]
    created = (await api.post(f"{BASE}/insert-batch", json=body)).json()["successRecords"]
    ann, bob, cid = created
    photo = await api.post(
        f"{DS}/Attachment/Customer/{ann['Id']}/photo", files={"file": ("logo.png", b"png", "image/png")}
    )
    assert photo.status_code == 200, photo.text
    ann = (await api.get(f"{BASE}/read/{ann['Id']}")).json()
    assert ann["photo"]["Name"] == "logo.png"
    order = await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "t", "customer": bob["Id"]})
    assert order.status_code == 200, order.text

    response = await api.post(f"{BASE}/delete-batch", json=[ann["Id"], bob["Id"], MISSING, cid["Id"]])

    assert response.status_code == 400, response.text
    result = response.json()
    assert result["successRecords"] == [ann, cid]  # as read before: file object, choices, system fields
    assert set(result["successRecords"][0]) >= SYSTEM | {"photo", "status", "tags"}
    referenced, missing = result["failureRecords"]
    assert referenced["code"] == "RECORD_REFERENCED" and isinstance(referenced["error"], str)
    assert referenced["record"] == bob  # still there, so answered as it is
    assert missing["record"] == {"Id": MISSING}  # nothing to read: the item as sent
    assert [r["fullName"] for r in await read_all(api)] == ["Bob"]


async def test_delete_batch_of_an_entity_with_a_relationship_answers_it_as_an_id_object(api: Api) -> None:
    await standard_entities(api)
    customer = (await api.post(f"{BASE}/insert", json={"fullName": "Ann"})).json()
    order = (
        await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "t", "customer": customer["Id"]})
    ).json()
    response = await api.post(f"{DS}/EntityService/Purchase/delete-batch", json=[order["Id"]])
    assert response.status_code == 200, response.text
    (deleted,) = response.json()["successRecords"]
    assert deleted["customer"] == {"Id": customer["Id"]} and deleted["title"] == "t"
    assert {k: deleted[k] for k in SYSTEM} == {k: order[k] for k in SYSTEM}
    assert await read_all(api, "Purchase") == []


async def test_delete_batch_never_answers_what_the_caller_may_not_read(api: Api) -> None:
    """Own-records rules: another's record is unknown (answered as sent); masked fields stay hidden."""
    await create_entity(api, "Note", [field("text"), field("secret", "INT", isRbacEnabled=True)])
    role = {
        "name": "Own",
        "entities": {"Note": {"actions": ["read", "create", "delete"], "ownOnly": ["read", "delete"]}},
    }
    assert (await api.post("/api/admin/roles", json=role)).status_code == 201
    await create_user(api, "ann", ["Own"])
    ann = bearer((await password_token(api, "ann"))["access_token"])
    notes = f"{DS}/EntityService/Note"
    mine = await api.post(f"{notes}/insert", json={"text": "mine"}, headers=ann)
    assert mine.status_code == 200, mine.text
    secret = await api.post(f"{notes}/update/{mine.json()['Id']}", json={"secret": 1})
    assert secret.status_code == 200 and secret.json()["secret"] == 1
    theirs = (await api.post(f"{notes}/insert", json={"text": "theirs", "secret": 2})).json()

    response = await api.post(f"{notes}/delete-batch", json=[mine.json()["Id"], theirs["Id"]], headers=ann)

    assert response.status_code == 400, response.text
    (deleted,) = response.json()["successRecords"]
    assert deleted["text"] == "mine" and "secret" not in deleted
    (refused,) = response.json()["failureRecords"]
    assert refused["code"] == "RECORD_NOT_FOUND" and refused["record"] == {"Id": theirs["Id"]}
    assert "theirs" not in response.text
    assert [r["text"] for r in await read_all(api, "Note")] == ["theirs"]


async def test_insert_and_update_ignore_echoed_system_fields_and_file_objects(api: Api) -> None:
    """UiPath ignores server-managed keys in a body, so a record that was read can be sent back."""
    await standard_entities(api)
    echo = {
        "Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "CreatedBy": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "CreateTime": "2021-03-04T10:40:14.561Z",
        "UpdatedBy": "someone",
        "UpdateTime": None,
        "photo": {"Name": "string", "Path": "string", "Size": 0, "Type": "string"},
        "seq": 99,
    }
    inserted = await api.post(f"{BASE}/insert", json={"fullName": "Ann", **echo})
    assert inserted.status_code == 200, inserted.text
    record = inserted.json()
    assert record["Id"] != echo["Id"] and record["CreateTime"] != echo["CreateTime"]
    assert record["photo"] is None and record["seq"] == 1
    assert record["CreatedBy"] == record["UpdatedBy"] != echo["CreatedBy"]

    read_back = (await api.get(f"{BASE}/read/{record['Id']}", params={"expansionLevel": 0})).json()
    changed = {**read_back, "fullName": "Ann B", **{k: echo[k] for k in ("CreateTime", "UpdatedBy", "seq")}}
    updated = await api.post(f"{BASE}/update/{record['Id']}", json=changed)
    assert updated.status_code == 200, updated.text
    stored = (await api.get(f"{BASE}/read/{record['Id']}")).json()
    assert stored["fullName"] == "Ann B" and stored["seq"] == 1
    assert stored["CreateTime"] == record["CreateTime"] and stored["UpdatedBy"] == record["UpdatedBy"]

    batch = await api.post(f"{BASE}/insert-batch", json=[{"fullName": "Bob", **echo}])
    assert batch.status_code == 200, batch.text
    bob = batch.json()["successRecords"][0]
    again = await api.post(f"{BASE}/update-batch", json=[{**bob, "fullName": "Bob B"}])
    assert again.status_code == 200, again.text
    assert sorted(r["fullName"] for r in await read_all(api)) == ["Ann B", "Bob B"]


async def test_update_keeps_refusing_a_changed_id(api: Api) -> None:
    await standard_entities(api)
    record = (await api.post(f"{BASE}/insert", json={"fullName": "Ann"})).json()
    same = await api.post(f"{BASE}/update/{record['Id']}", json={"Id": record["Id"].upper(), "age": 3})
    assert same.status_code == 200, same.text
    other = await api.post(f"{BASE}/update/{record['Id']}", json={"Id": MISSING, "fullName": "X"})
    assert other.status_code == 400
    assert other.json()["fieldErrors"][0]["field"] == "Id"
    assert other.json()["fieldErrors"][0]["code"] == "READ_ONLY"
    file_as_text = await api.post(f"{BASE}/update/{record['Id']}", json={"photo": "/tmp/x.png"})
    assert file_as_text.status_code == 400
    assert file_as_text.json()["fieldErrors"][0]["code"] == "FILE_FIELD_NOT_WRITABLE"
    stored = (await api.get(f"{BASE}/read/{record['Id']}")).json()
    assert (stored["fullName"], stored["age"]) == ("Ann", 3)


async def test_an_echoed_system_field_must_look_as_read(api: Api) -> None:
    """Echoes are ignored only as a read renders them (text or null); `{}` or a number is a mistake."""
    await standard_entities(api)
    for bad in ({}, 5, [1]):
        refused = await api.post(f"{BASE}/insert", json={"fullName": "Ann", "UpdateTime": bad})
        assert refused.status_code == 400, refused.text
        assert refused.json()["fieldErrors"][0]["code"] == "INVALID_TYPE"
        batch = await api.post(f"{BASE}/insert-batch", json=[{"fullName": "Ann", "CreatedBy": bad}])
        assert batch.status_code == 400 and not batch.json()["successRecords"]
    listed = (await api.get(f"{BASE}/read")).json()
    assert listed["totalRecordCount"] == 0


async def test_query_body_and_batch_parameters_are_read_in_either_casing(api: Api) -> None:
    """The SDKs send camelCase; UiPath's pages show PascalCase. Answers stay camelCase."""
    await standard_entities(api)
    names = ["Ann", "Bob", "Cid", "Dan"]
    await api.post(f"{BASE}/insert-batch", json=[{"fullName": n, "age": i} for i, n in enumerate(names)])
    camel = {
        "filterGroup": {
            "logicalOperator": 1,
            "queryFilters": [
                {"fieldName": "age", "operator": ">=", "value": "2"},
                {"fieldName": "fullName", "operator": "=", "value": "Ann"},
            ],
        },
        "sortOptions": [{"fieldName": "age", "isDescending": True}],
        "selectedFields": ["fullName"],
        "start": 0,
        "limit": 2,
    }
    pascal = {
        "FilterGroup": {
            "LogicalOperator": 1,
            "QueryFilters": [
                {"FieldName": "age", "Operator": ">=", "Value": "2"},
                {"FieldName": "fullName", "Operator": "=", "Value": "Ann"},
            ],
        },
        "SortOptions": [{"FieldName": "age", "IsDescending": True}],
        "SelectedFields": ["fullName"],
        "Start": 0,
        "Limit": 2,
    }
    answers = [(await api.post(f"{BASE}/query", json=body)).json() for body in (camel, pascal)]
    assert answers[0] == answers[1]
    assert [r["fullName"] for r in answers[0]["value"]] == ["Dan", "Cid"]
    assert answers[0]["totalRecordCount"] == 3 and "TotalRecordCount" not in answers[0]

    stop = await api.post(
        f"{BASE}/insert-batch",
        params={"FailOnFirst": "true", "ExpansionLevel": "0"},
        json=[{"fullName": "Eve"}, {"age": "x"}, {"fullName": "Fay"}],
    )
    assert stop.status_code == 400
    assert [r["fullName"] for r in stop.json()["successRecords"]] == ["Eve"]
    assert len(stop.json()["failureRecords"]) == 1  # stopped: Fay was never processed
    assert sorted(r["fullName"] for r in await read_all(api)) == [*names, "Eve"]
    bad = await api.post(f"{BASE}/insert-batch", params={"FAILONFIRST": "maybe"}, json=[{"fullName": "x"}])
    assert bad.status_code == 400 and "failOnFirst" in bad.json()["error"]


PIPELINER = "/api/v100/rest/spaces/5b2ad2b4-space/entities/Customers"


async def test_choice_values_are_written_and_filtered_by_label_or_number_id(api: Api) -> None:
    """Status is Open(0)/Won(1)/Lost(2); Tags Red(0)/Green(1)/Blue(2). Records answer NumberIds."""
    await standard_entities(api)
    one = await api.post(f"{BASE}/insert", json={"fullName": "Ann", "status": "Won", "tags": ["red", 2]})
    assert one.status_code == 200, one.text
    assert (one.json()["status"], one.json()["tags"]) == (1, [0, 2])
    batch = await api.post(
        f"{BASE}/insert-batch",
        json=[{"fullName": "Bob", "status": "lost", "tags": '["Green"]'}, {"fullName": "Cid", "status": 0}],
    )
    assert batch.status_code == 200, batch.text
    bob = batch.json()["successRecords"][0]
    assert (bob["status"], bob["tags"]) == (2, [1])
    changed = await api.post(f"{BASE}/update/{one.json()['Id']}", json={"status": " OPEN "})
    assert changed.status_code == 200 and changed.json()["status"] == 0
    moved = await api.post(f"{BASE}/update-batch", json=[{"Id": bob["Id"], "tags": ["Blue", "red"]}])
    assert moved.status_code == 200 and moved.json()["successRecords"][0]["tags"] == [0, 2]
    crm = await api.post(
        PIPELINER + "/batch-modify",
        json=[{"id": bob["Id"], "status": "Won"}, {"fullName": "Dee", "status": "Lost"}],
    )
    assert crm.status_code == 200, crm.text
    unknown = await api.post(f"{BASE}/insert", json={"fullName": "Eve", "status": "Maybe"})
    assert unknown.status_code == 400 and unknown.json()["fieldErrors"][0]["code"] == "UNKNOWN_CHOICE"
    assert "'Maybe' is not a value of choice set 'Status'" in unknown.json()["fieldErrors"][0]["message"]

    stored = {r["fullName"]: (r["status"], r["tags"]) for r in await read_all(api)}
    assert stored == {"Ann": (0, [0, 2]), "Bob": (1, [0, 2]), "Cid": (0, None), "Dee": (2, None)}

    async def matching(filters: list[dict[str, Any]]) -> set[str]:
        body = {"filterGroup": {"queryFilters": filters}}
        response = await api.post(f"{BASE}/query", json=body)
        assert response.status_code == 200, response.text
        return {r["fullName"] for r in response.json()["value"]}

    assert await matching([{"fieldName": "status", "operator": "=", "value": "open"}]) == {"Ann", "Cid"}
    assert await matching([{"fieldName": "status", "operator": "=", "value": "0"}]) == {"Ann", "Cid"}
    assert await matching([{"fieldName": "status", "operator": "in", "valueList": ["Won", "2"]}]) == {
        "Bob",
        "Dee",
    }
    assert await matching([{"fieldName": "tags", "operator": "contains", "value": "Red"}]) == {"Ann", "Bob"}
    odata = await api.get(f"{BASE}/read", params={"$filter": "status eq 'Lost'"})
    assert odata.status_code == 200 and [r["fullName"] for r in odata.json()["value"]] == ["Dee"]
    bad = await api.post(
        f"{BASE}/query",
        json={"filterGroup": {"queryFilters": [{"fieldName": "status", "operator": "=", "value": "Maybe"}]}},
    )
    assert bad.status_code == 400
