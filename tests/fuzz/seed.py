"""A schema with several entities and every field type, and a few records, created through the API."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import customer_fields, field


def seed(client: httpx.Client) -> dict[str, str]:
    """Create the choice sets, entities and records the fuzzing run starts from; return their ids."""
    status = _post(client, "/api/Entity/choiceset", {"name": "Status", "values": ["Open", "Won", "Lost"]})
    tags = _post(client, "/api/Entity/choiceset", {"name": "Tags", "values": ["Red", "Green", "Blue"]})
    ids = {"Status": status, "Tags": tags}
    ids["Customer"] = _entity(client, "Customer", customer_fields(status, tags))
    ids["Purchase"] = _entity(
        client,
        "Purchase",
        [
            field("title", isRequired=True, sql_type={"lengthLimit": 80}),
            field("amount", "DECIMAL", sql_type={"decimalPrecision": 2, "minValue": 0, "maxValue": 100000}),
            field("customer", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Customer"),
            field("parent", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Purchase"),
        ],
    )
    ids["Note"] = _entity(
        client, "Note", [field("body", "MULTILINE"), field("pinned", "BIT", defaultValue="false")]
    )
    customer = _post(
        client, "/api/EntityService/Customer/insert", {"fullName": "Ann Lee", "status": 1, "tags": [0]}
    )
    purchase = {"title": "First", "amount": 12.5, "customer": customer["Id"]}
    _post(client, "/api/EntityService/Purchase/insert", purchase)
    _post(client, "/api/EntityService/Note/insert", {"body": "hello"})
    return ids


def _entity(client: httpx.Client, name: str, fields: list[dict[str, Any]]) -> str:
    body = {"displayName": name, "entityDefinition": {"name": name, "fields": fields}}
    return str(_post(client, "/api/Entity", body))


def _post(client: httpx.Client, path: str, body: Any) -> Any:
    response = client.post(path, json=body)
    if response.status_code != 200:
        raise RuntimeError(f"seeding {path}: {response.status_code} {response.text}")
    return response.json()
