"""Schema API scenarios: entities, fields, choice sets, online changes, on both backends."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from recordbase.app import create_app
from recordbase.settings import Settings
from tests.api.helpers import DF, DS, create_entity, field, standard_entities
from tests.conftest import Api

pytestmark = pytest.mark.anyio

REQUIRED_ENTITY_KEYS = {"id", "name", "displayName", "entityType", "isRbacEnabled"}
REQUIRED_FIELD_KEYS = {
    "name",
    "displayName",
    "sqlType",
    "isPrimaryKey",
    "isForeignKey",
    "isExternalField",
    "isHiddenField",
    "isUnique",
    "isRequired",
    "isSystemField",
    "isAttachment",
    "isRbacEnabled",
}


async def test_entity_metadata_has_every_key_the_sdk_requires(api: Api) -> None:
    ids = await standard_entities(api)
    for path in (
        f"{DF}/Entity/{ids['Customer']}",
        f"{DF}/Entity/Customer/metadata",
        f"{DF}/v3/entities/{ids['Customer']}",
    ):
        body = (await api.get(path)).json()
        assert set(body) >= REQUIRED_ENTITY_KEYS and body["id"] == ids["Customer"]
        for item in body["fields"]:
            assert set(item) >= REQUIRED_FIELD_KEYS, item["name"]
            assert item["defaultValue"] is None or isinstance(item["defaultValue"], str)
            assert item["referenceType"] in (None, "ManyToOne")
    fields = {f["name"]: f for f in (await api.get(f"{DF}/Entity/{ids['Customer']}")).json()["fields"]}
    assert fields["Id"]["isPrimaryKey"] and fields["Id"]["isSystemField"]
    assert fields["fullName"]["sqlType"]["LengthLimit"] == 50 == fields["fullName"]["sqlType"]["lengthLimit"]
    assert (
        fields["status"]["fieldDisplayType"] == "ChoiceSetSingle"
        and fields["status"]["choiceSetId"] == ids["Status"]
    )
    assert fields["photo"]["isAttachment"] and fields["email"]["isUnique"]
    purchase = (await api.get(f"{DF}/Entity/{ids['Purchase']}")).json()
    customer = next(f for f in purchase["fields"] if f["name"] == "customer")
    assert customer["isForeignKey"] and set(customer["referenceEntity"]) >= REQUIRED_ENTITY_KEYS


async def test_list_entities_is_a_bare_array(api: Api) -> None:
    ids = await standard_entities(api)
    for path in (f"{DF}/Entity", f"{DF}/v3/entities", "/api/Entity"):
        listed = (await api.get(path)).json()
        assert isinstance(listed, list)
        assert {e["id"] for e in listed} == {ids["Customer"], ids["Purchase"]}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("ab", "INVALID_NAME"),
        ("1abc", "INVALID_NAME"),
        ("has space", "INVALID_NAME"),
        ("x" * 101, "INVALID_NAME"),
        ("entity", "RESERVED_NAME"),
        ("Order", "RESERVED_NAME"),
        ("Robert'); DROP TABLE x;--", "INVALID_NAME"),
    ],
)
async def test_bad_entity_names_are_refused(api: Api, name: str, code: str) -> None:
    response = await api.post(f"{DF}/Entity", json={"entityDefinition": {"name": name, "fields": []}})
    assert response.status_code == 400 and response.json()["code"] == code
    assert (await api.get(f"{DF}/Entity")).json() == []


@pytest.mark.parametrize(
    ("field_name", "code"),
    [
        ("Id", "RESERVED_NAME"),
        ("createtime", "RESERVED_NAME"),
        ("ab", "INVALID_NAME"),
        ("_x1", "INVALID_NAME"),
        ("Widget", "INVALID_NAME"),
    ],
)
async def test_bad_field_names_are_refused(api: Api, field_name: str, code: str) -> None:
    body = {"entityDefinition": {"name": "Widget", "fields": [field(field_name)]}}
    response = await api.post(f"{DF}/Entity", json=body)
    assert response.status_code == 400 and response.json()["code"] == code


async def test_underscored_field_names_are_allowed(api: Api) -> None:
    await create_entity(api, "Account", [field("owner_id", "UNIQUEIDENTIFIER")])
    created = await api.post(
        f"{DS}/EntityService/Account/insert", json={"owner_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}
    )
    assert created.status_code == 200 and created.json()["owner_id"] == "3fa85f64-5717-4562-b3fc-2c963f66afa6"


async def test_duplicate_names_conflict(api: Api) -> None:
    await create_entity(api, "Widget", [field("label")])
    again = await api.post(f"{DF}/Entity", json={"entityDefinition": {"name": "widget", "fields": []}})
    assert again.status_code == 409 and again.json()["code"] == "NAME_TAKEN"
    twice = await api.post(
        f"{DF}/Entity", json={"entityDefinition": {"name": "Gadget", "fields": [field("aaa"), field("AAA")]}}
    )
    assert twice.status_code == 409


async def test_field_definition_errors(api: Api) -> None:
    cases = [
        field("label", sql_type={"lengthLimit": 5000}),
        field("amount", "DECIMAL", sql_type={"decimalPrecision": 11}),
        field("amount", "INT", sql_type={"minValue": 10, "maxValue": 5}),
        field("state", "INT", "ChoiceSetSingle", choiceSetId="00000000-0000-0000-0000-000000000000"),
        field("owner", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Nowhere"),
        field("flag", "BIT", isUnique=True),
        field("count", "INT", defaultValue="many"),
        field("thing", "GEOGRAPHY"),
    ]
    for case in cases:
        response = await api.post(
            f"{DF}/Entity", json={"entityDefinition": {"name": "Widget", "fields": [case]}}
        )
        assert response.status_code == 400, case
        assert response.json()["code"] == "INVALID_SCHEMA", case
    assert (await api.get(f"{DF}/Entity")).json() == []


async def test_defaults_apply_on_insert(api: Api) -> None:
    await create_entity(
        api,
        "Widget",
        [
            field("label", defaultValue="none"),
            field("count", "INT", defaultValue="7"),
            field("flag", "BIT", defaultValue="true"),
        ],
    )
    created = (await api.post(f"{DS}/EntityService/Widget/insert", json={})).json()
    assert (created["label"], created["count"], created["flag"]) == ("none", 7, True)
    metadata = (await api.get(f"{DF}/Entity/Widget/metadata")).json()
    defaults = {f["name"]: f["defaultValue"] for f in metadata["fields"]}
    assert defaults["count"] == "7" and defaults["flag"] == "true"


async def test_online_add_and_remove_fields(api: Api) -> None:
    ids = await standard_entities(api)
    existing = (await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "Old"})).json()
    patch = {
        "addFields": [field("qty", "INT"), field("seq", "DECIMAL", "AutoNumber")],
        "removeFields": [{"name": "customer"}],
    }
    response = await api.patch(f"{DF}/Entity/{ids['Purchase']}", json=patch)
    assert response.status_code == 200, response.text
    names = [f["name"] for f in response.json()["fields"]]
    assert "qty" in names and "customer" not in names
    stored = (await api.get(f"{DS}/EntityService/Purchase/read/{existing['Id']}")).json()
    assert stored["qty"] is None and stored["seq"] == 1 and "customer" not in stored
    new = (await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "New", "qty": 2})).json()
    assert new["qty"] == 2 and new["seq"] == 2
    removed = await api.patch(f"{DF}/Entity/{ids['Purchase']}", json={"removeFields": [{"name": "qty"}]})
    assert removed.status_code == 200
    assert "qty" not in (await api.get(f"{DS}/EntityService/Purchase/read/{new['Id']}")).json()


async def test_changing_a_field_type_is_refused(api: Api) -> None:
    ids = await standard_entities(api)
    response = await api.patch(
        f"{DF}/Entity/{ids['Customer']}", json={"updateFields": [field("age", "NVARCHAR")]}
    )
    assert response.status_code == 400 and response.json()["code"] == "UNSUPPORTED_SCHEMA_CHANGE"
    age = next(
        f for f in (await api.get(f"{DF}/Entity/{ids['Customer']}")).json()["fields"] if f["name"] == "age"
    )
    assert age["sqlType"]["name"] == "BIGINT"


async def test_metadata_update(api: Api) -> None:
    ids = await standard_entities(api)
    response = await api.patch(
        f"{DF}/Entity/{ids['Customer']}/metadata",
        json={"displayName": "Clients", "description": "Paying", "isRbacEnabled": True},
    )
    assert response.status_code == 200
    body = (await api.get(f"{DF}/Entity/{ids['Customer']}")).json()
    assert (body["displayName"], body["description"], body["isRbacEnabled"]) == ("Clients", "Paying", True)


async def test_delete_entity(api: Api) -> None:
    ids = await standard_entities(api)
    refused = await api.delete(f"{DF}/Entity/{ids['Customer']}")
    assert refused.status_code == 409
    assert (await api.delete(f"{DF}/Entity/{ids['Purchase']}")).status_code == 204
    assert (await api.delete(f"{DF}/Entity/{ids['Customer']}")).status_code == 204
    assert (await api.get(f"{DF}/Entity")).json() == []
    assert (await api.get(f"{DS}/EntityService/Customer/read")).status_code == 404
    recreated = await create_entity(api, "Customer", [field("fullName")])
    assert (await api.get(f"{DS}/EntityService/entity/{recreated}/read")).json()["totalRecordCount"] == 0


async def test_choice_sets_and_values(api: Api) -> None:
    ids = await standard_entities(api)
    listed = (await api.get(f"{DF}/Entity/choiceset")).json()
    assert {c["name"] for c in listed} == {"Status", "Tags"} and all(
        c["entityType"] == "ChoiceSet" for c in listed
    )
    response = await api.post(
        f"{DF}/EntityService/entity/{ids['Status']}/query_expansion", json={}, params={"start": 1, "limit": 5}
    )
    body = response.json()
    assert body["totalRecordCount"] == 3 and isinstance(body["jsonValue"], str)
    assert [(v["Name"], v["NumberId"]) for v in __import__("json").loads(body["jsonValue"])] == [
        ("Won", 1),
        ("Lost", 2),
    ]
    bad = await api.post(f"{DF}/EntityService/entity/{ids['Status']}/query_expansion", json={"start": "x"})
    assert bad.status_code == 400


async def test_schema_change_in_one_process_is_seen_by_another(api: Api, settings: Settings) -> None:
    """Two apps on one database: what one creates, the other serves without a restart."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        headers = {"Authorization": f"Bearer {api.token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://other", headers=headers) as client:
            assert (await client.get(f"{DF}/Entity")).json() == []
            await create_entity(api, "Widget", [field("label")])
            created = await client.post(f"{DS}/EntityService/Widget/insert", json={"label": "seen"})
            assert created.status_code == 200, created.text
            entity_id = (await api.get(f"{DF}/Entity/Widget/metadata")).json()["id"]
            add = await api.patch(f"{DF}/Entity/{entity_id}", json={"addFields": [field("size", "INT")]})
            assert add.status_code == 200
            updated = await client.post(
                f"{DS}/EntityService/Widget/update/{created.json()['Id']}", json={"size": 3}
            )
            assert updated.status_code == 200, updated.text
            assert updated.json()["size"] == 3


async def test_flags_must_be_booleans(api: Api) -> None:
    body = {"entityDefinition": {"name": "Widget", "fields": [field("label", isRequired="false")]}}
    response = await api.post(f"{DF}/Entity", json=body)
    assert response.status_code == 400 and "isRequired" in response.json()["error"]
    assert (await api.get(f"{DF}/Entity")).json() == []


async def test_concurrent_first_requests_after_a_remote_schema_change(api: Api, settings: Settings) -> None:
    """Many requests meeting an entity another process just created: all find it, none answers 404."""
    other = create_app(settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        headers = {"Authorization": f"Bearer {api.token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://other", headers=headers) as client:
            await client.get(f"{DF}/Entity")
            await create_entity(api, "Widget", [field("label")])
            answers = await asyncio.gather(
                *(client.get(f"{DS}/EntityService/Widget/read") for _ in range(40))
            )
            assert [a.status_code for a in answers] == [200] * 40
