"""Every bad value gets a 4xx in the envelope with all field errors at once, never a 500, never a write."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import DS, standard_entities
from tests.conftest import Api

pytestmark = pytest.mark.anyio

INSERT = f"{DS}/EntityService/Customer/insert"

BAD_VALUES: list[tuple[str, Any, str]] = [
    ("fullName", 5, "INVALID_TYPE"),
    ("fullName", "x" * 51, "TOO_LONG"),
    ("fullName", "nul\x00byte", "INVALID_VALUE"),
    ("age", "old", "INVALID_TYPE"),
    ("age", 151, "OUT_OF_RANGE"),
    ("age", -1, "OUT_OF_RANGE"),
    ("age", 1.5, "TOO_MANY_DECIMALS"),
    ("age", True, "INVALID_TYPE"),
    ("balance", 1.234, "TOO_MANY_DECIMALS"),
    ("balance", "NaN", "INVALID_TYPE"),
    ("balance", 10**16, "OUT_OF_RANGE"),
    ("active", "yes", "INVALID_TYPE"),
    ("birthday", "2024-02-30", "INVALID_VALUE"),
    ("birthday", "05/01/2024", "INVALID_TYPE"),
    ("lastSeen", "yesterday", "INVALID_TYPE"),
    ("status", 7, "UNKNOWN_CHOICE"),
    ("status", "Nope", "UNKNOWN_CHOICE"),
    ("status", [1], "INVALID_TYPE"),
    ("tags", [0, 9], "UNKNOWN_CHOICE"),
    ("tags", "not json", "INVALID_TYPE"),
    ("externalId", "not-a-uuid", "INVALID_TYPE"),
    ("photo", "x.png", "FILE_FIELD_NOT_WRITABLE"),
    ("photo", 5, "FILE_FIELD_NOT_WRITABLE"),
    ("nonsense", 1, "UNKNOWN_FIELD"),
]


async def count(api: Api) -> int:
    return int((await api.get(f"{DS}/EntityService/Customer/read")).json()["totalRecordCount"])


@pytest.mark.parametrize(("field", "value", "code"), BAD_VALUES)
async def test_bad_value_is_400_with_field_error(api: Api, field: str, value: Any, code: str) -> None:
    await standard_entities(api)
    response = await api.post(INSERT, json={"fullName": "Ok", field: value})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED" and body["traceId"]
    assert {"field": field, "code": code} == {k: body["fieldErrors"][0][k] for k in ("field", "code")}
    assert await count(api) == 0


async def test_all_errors_of_a_record_come_together(api: Api) -> None:
    await standard_entities(api)
    response = await api.post(INSERT, json={"age": "x", "active": 3, "nope": 1})
    assert response.status_code == 400
    found = {(e["field"], e["code"]) for e in response.json()["fieldErrors"]}
    assert found == {
        ("age", "INVALID_TYPE"),
        ("active", "INVALID_TYPE"),
        ("nope", "UNKNOWN_FIELD"),
        ("fullName", "REQUIRED"),
    }


async def test_required_cannot_be_cleared(api: Api) -> None:
    await standard_entities(api)
    created = (await api.post(INSERT, json={"fullName": "Keep"})).json()
    response = await api.post(f"{DS}/EntityService/Customer/update/{created['Id']}", json={"fullName": None})
    assert response.status_code == 400 and response.json()["fieldErrors"][0]["code"] == "REQUIRED"
    stored = (await api.get(f"{DS}/EntityService/Customer/read/{created['Id']}")).json()
    assert stored["fullName"] == "Keep"


async def test_unique_violation_is_409(api: Api) -> None:
    await standard_entities(api)
    assert (await api.post(INSERT, json={"fullName": "A", "email": "a@x.io"})).status_code == 200
    response = await api.post(INSERT, json={"fullName": "B", "email": "a@x.io"})
    assert response.status_code == 409
    assert response.json()["fieldErrors"][0] == {
        "field": "email",
        "code": "NOT_UNIQUE",
        "message": "Field 'email' must be unique; the value is already used.",
    }
    other = (await api.post(INSERT, json={"fullName": "C", "email": "c@x.io"})).json()
    clash = await api.post(f"{DS}/EntityService/Customer/update/{other['Id']}", json={"email": "a@x.io"})
    assert clash.status_code == 409
    same = await api.post(f"{DS}/EntityService/Customer/update/{other['Id']}", json={"email": "c@x.io"})
    assert same.status_code == 200
    assert await count(api) == 2


async def test_dangling_relationship_is_400(api: Api) -> None:
    await standard_entities(api)
    missing = "00000000-0000-0000-0000-000000011a3d"
    response = await api.post(f"{DS}/EntityService/Purchase/insert", json={"title": "T", "customer": missing})
    assert response.status_code == 400
    error = response.json()["fieldErrors"][0]
    assert error["code"] == "RELATION_NOT_FOUND"
    assert error["message"] == f"[customer] Relation Purchase.customer={missing} to Customer doesn't exist!"


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "INVALID_JSON"),
        (b"[1, 2]", {"content-type": "application/json"}, 400, "VALIDATION_FAILED"),
        (b"name=x", {"content-type": "application/x-www-form-urlencoded"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"", {"content-type": "application/json"}, 400, "INVALID_JSON"),
    ],
)
async def test_malformed_bodies(
    api: Api, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    await standard_entities(api)
    response = await api.post(INSERT, content=body, headers=headers)
    assert response.status_code == status and response.json()["code"] == code
    assert await count(api) == 0


async def test_body_over_limit_is_413(api: Api) -> None:
    await standard_entities(api)
    limit = api.services.settings.max_body_bytes
    response = await api.post(
        INSERT, content=b" " * (limit + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer rb_unknown", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500]
)
async def test_missing_or_bad_token_is_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    api.client.headers.pop("Authorization", None)
    response = await api.get(f"{DS}/Entity", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"].startswith("You are not authenticated to access Data Service.")
    assert response.json()["code"] == "UNAUTHENTICATED"
