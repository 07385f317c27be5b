"""Shared scenario builders: entities created the way the uipath SDK creates them."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

DF = "/acme/default/datafabric_/api"
DS = "/acme/default/dataservice_/api"


def field(name: str, sql: str = "NVARCHAR", display: str = "Basic", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "displayName": name,
        "sqlType": {"name": sql, **extra.pop("sql_type", {})},
        "fieldDisplayType": display,
        "description": "",
        "isRequired": False,
        "isUnique": False,
        "isRbacEnabled": False,
        "isEncrypted": False,
    }
    body.update(extra)
    return body


async def create_entity(api: Api, name: str, fields: list[dict[str, Any]]) -> str:
    body = {"displayName": name, "entityDefinition": {"name": name, "fields": fields, "isRbacEnabled": False}}
    response = await api.post(f"{DF}/Entity", json=body)
    assert response.status_code == 200, response.text
    entity_id = response.json()
    assert isinstance(entity_id, str)
    return entity_id


async def create_choice_set(api: Api, name: str, values: list[str]) -> str:
    response = await api.post(f"{DF}/Entity/choiceset", json={"name": name, "values": values})
    assert response.status_code == 200, response.text
    return str(response.json())


def customer_fields(status: str, tags: str) -> list[dict[str, Any]]:
    """One field of every type (the shared scenario entity of API, security and fuzz tests)."""
    return [
        field("fullName", isRequired=True, sql_type={"lengthLimit": 50}),
        field("notes", "MULTILINE"),
        field("age", "INT", sql_type={"minValue": 0, "maxValue": 150}),
        field("balance", "DECIMAL", sql_type={"decimalPrecision": 2}),
        field("active", "BIT"),
        field("birthday", "DATE"),
        field("lastSeen", "DATETIMEOFFSET"),
        field("status", "INT", "ChoiceSetSingle", choiceSetId=status),
        field("tags", "NVARCHAR", "ChoiceSetMultiple", choiceSetId=tags),
        field("email", isUnique=True),
        field("externalId", "UNIQUEIDENTIFIER"),
        field("photo", "UNIQUEIDENTIFIER", "File"),
        field("seq", "DECIMAL", "AutoNumber"),
    ]


async def standard_entities(api: Api) -> dict[str, str]:
    """A Customer (one field of every type) and an Order pointing at it."""
    status = await create_choice_set(api, "Status", ["Open", "Won", "Lost"])
    tags = await create_choice_set(api, "Tags", ["Red", "Green", "Blue"])
    customer = await create_entity(api, "Customer", customer_fields(status, tags))
    order = await create_entity(
        api,
        "Purchase",
        [
            field("title"),
            field("customer", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Customer"),
        ],
    )
    return {"Customer": customer, "Purchase": order, "Status": status, "Tags": tags}
