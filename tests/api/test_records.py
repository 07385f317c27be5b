"""Record API scenarios (UiPath EntityService), each on SQLite and PostgreSQL, each write read back."""

from __future__ import annotations

import uuid

import pytest

from tests.api.helpers import DF, DS, standard_entities
from tests.conftest import Api

pytestmark = pytest.mark.anyio

FULL = {
    "fullName": "Ann Lee",
    "notes": "line one\nline two",
    "age": 41,
    "balance": 12.5,
    "active": True,
    "birthday": "1983-04-05",
    "lastSeen": "2024-05-01T14:30:00.123+02:00",
    "status": 1,
    "tags": [2, 0],
    "email": "ann@example.com",
    "externalId": "3FA85F64-5717-4562-B3FC-2C963F66AFA6",
}


async def test_insert_then_read_renders_every_type(api: Api) -> None:
    await standard_entities(api)
    response = await api.post(f"{DS}/EntityService/Customer/insert", json=FULL)
    assert response.status_code == 200, response.text
    created = response.json()
    assert isinstance(created["Id"], str)
    read = await api.get(f"{DS}/EntityService/Customer/read/{created['Id']}")
    assert read.status_code == 200
    record = read.json()
    assert record == created
    assert record["fullName"] == "Ann Lee"
    assert record["notes"] == "line one\nline two"
    assert record["age"] == 41
    assert record["balance"] == 12.5
    assert record["active"] is True
    assert record["birthday"] == "1983-04-05"
    assert record["lastSeen"] == "2024-05-01T12:30:00.123Z"
    assert record["status"] == 1
    assert record["tags"] == [0, 2]
    assert record["externalId"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert record["photo"] is None
    assert record["seq"] == 1
    assert record["CreateTime"].endswith("Z") and record["CreatedBy"] == record["UpdatedBy"]


async def test_entity_addressed_by_id_name_v3_and_bare_api(api: Api) -> None:
    ids = await standard_entities(api)
    created = (await api.post(f"{DF}/EntityService/Customer/insert", json={"fullName": "Bo"})).json()
    paths = [
        f"{DF}/EntityService/entity/{ids['Customer']}/read/{created['Id']}",
        f"{DF}/v3/entities/entity/{ids['Customer']}/read/{created['Id']}",
        f"/api/EntityService/customer/read/{created['Id']}",
        f"/api/EntityService/entity/{ids['Customer']}/read/{created['Id']}",
    ]
    for path in paths:
        response = await api.get(path)
        assert response.status_code == 200, path
        assert response.json()["fullName"] == "Bo"


async def test_auto_numbers_increase(api: Api) -> None:
    await standard_entities(api)
    numbers = []
    for name in ("A1", "B2", "C3"):
        numbers.append(
            (await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": name})).json()["seq"]
        )
    assert numbers == [1, 2, 3]


async def test_update_is_partial_and_null_clears(api: Api) -> None:
    await standard_entities(api)
    created = (await api.post(f"{DS}/EntityService/Customer/insert", json=FULL)).json()
    response = await api.post(
        f"{DS}/EntityService/Customer/update/{created['Id']}", json={"age": 42, "notes": None}
    )
    assert response.status_code == 200, response.text
    stored = (await api.get(f"{DS}/EntityService/Customer/read/{created['Id']}")).json()
    assert stored["age"] == 42 and stored["notes"] is None
    assert stored["fullName"] == "Ann Lee" and stored["email"] == "ann@example.com"
    assert stored["UpdateTime"] >= created["UpdateTime"]


async def test_update_accepts_a_record_read_back_unchanged(api: Api) -> None:
    await standard_entities(api)
    created = (await api.post(f"{DS}/EntityService/Customer/insert", json=FULL)).json()
    echoed = {**created, "age": 50}
    response = await api.post(f"{DS}/EntityService/Customer/update/{created['Id']}", json=echoed)
    assert response.status_code == 200, response.text
    assert response.json()["age"] == 50


async def test_delete_answers_true_and_removes(api: Api) -> None:
    await standard_entities(api)
    created = (await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": "Del"})).json()
    response = await api.delete(f"{DS}/EntityService/Customer/delete/{created['Id']}")
    assert response.status_code == 200 and response.json() is True
    gone = await api.get(f"{DS}/EntityService/Customer/read/{created['Id']}")
    assert gone.status_code == 404 and gone.json()["code"] == "RECORD_NOT_FOUND"
    again = await api.delete(f"{DS}/EntityService/Customer/delete/{created['Id']}")
    assert again.status_code == 404


async def test_list_pages_in_id_order_with_total(api: Api) -> None:
    await standard_entities(api)
    ids = []
    for index in range(7):
        ids.append(
            (await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": f"N{index}"})).json()[
                "Id"
            ]
        )
    first = (await api.get(f"{DS}/EntityService/Customer/read", params={"start": 0, "limit": 3})).json()
    second = (await api.get(f"{DS}/EntityService/Customer/read", params={"start": 3, "limit": 3})).json()
    assert first["totalRecordCount"] == 7 and second["totalRecordCount"] == 7
    listed = [r["Id"] for r in first["value"] + second["value"]]
    assert listed == sorted(ids)[:6]
    default = (await api.get(f"{DS}/EntityService/Customer/read")).json()
    assert len(default["value"]) == 7


@pytest.mark.parametrize("limit", ["0", "1001", "x", "-1"])
async def test_list_limit_out_of_range_is_400(api: Api, limit: str) -> None:
    await standard_entities(api)
    response = await api.get(f"{DS}/EntityService/Customer/read", params={"limit": limit})
    assert response.status_code == 400
    assert set(response.json()) >= {"error", "code", "traceId"}


async def test_expansion_levels(api: Api) -> None:
    await standard_entities(api)
    customer = (
        await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": "Cy", "age": 3})
    ).json()
    order = (
        await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "T", "customer": customer["Id"]})
    ).json()
    url = f"{DS}/EntityService/Purchase/read/{order['Id']}"
    level0 = (await api.get(url, params={"expansionLevel": 0})).json()
    level1 = (await api.get(url, params={"expansionLevel": 1})).json()
    level2 = (await api.get(url, params={"expansionLevel": 2})).json()
    assert level0["customer"] == customer["Id"]
    assert level1["customer"] == {"Id": customer["Id"]}
    assert level2["customer"]["fullName"] == "Cy" and level2["customer"]["age"] == 3
    listed = (await api.get(f"{DS}/EntityService/Purchase/read", params={"expansionLevel": 2})).json()
    assert listed["value"][0]["customer"]["Id"] == customer["Id"]
    bad = await api.get(url, params={"expansionLevel": 4})
    assert bad.status_code == 400


async def test_deleting_a_referenced_record_is_409(api: Api) -> None:
    await standard_entities(api)
    customer = (await api.post(f"{DS}/EntityService/Customer/insert", json={"fullName": "Ref"})).json()
    await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "T", "customer": customer["Id"]})
    response = await api.delete(f"{DS}/EntityService/Customer/delete/{customer['Id']}")
    assert response.status_code == 409 and response.json()["code"] == "RECORD_REFERENCED"
    assert (await api.get(f"{DS}/EntityService/Customer/read/{customer['Id']}")).status_code == 200


async def test_unknown_entity_and_record_are_404(api: Api) -> None:
    await standard_entities(api)
    missing_entity = await api.get(f"{DS}/EntityService/Nope/read")
    assert missing_entity.status_code == 404 and missing_entity.json()["code"] == "ENTITY_NOT_FOUND"
    for record_id in (str(uuid.uuid4()), "not-a-uuid", "1'; DROP TABLE x; --"):
        response = await api.get(f"{DS}/EntityService/Customer/read/{record_id}")
        assert response.status_code == 404, record_id
        update = await api.post(f"{DS}/EntityService/Customer/update/{record_id}", json={"age": 1})
        assert update.status_code == 404, record_id
