"""Bad input found by the hardening review (issue 12): each answers 4xx in the documented envelope
of its dialect, with the request id as `traceId`, never a 500; on both backends."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.api.helpers import DF, DS, create_entity, field
from tests.conftest import Api

pytestmark = pytest.mark.anyio

SPACE = "/api/v100/rest/spaces/some-space"
HUGE = str(2**63)


def assert_envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, dict) and body["code"] and body["traceId"], body
    assert body["traceId"] == response.headers["x-request-id"]
    return body


def assert_4xx(response: httpx.Response) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert isinstance(body, dict) and body["code"] and body["traceId"], body
    return body


# NUL bytes in credentials (PostgreSQL refuses NUL in text; the answer must not be a 500) -----------


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "password", "username": "ann\x00", "password": "x"},
        {"grant_type": "client_credentials", "client_id": "app\x00", "client_secret": "x"},
    ],
)
async def test_nul_in_a_login_is_a_refused_credential(api: Api, form: dict[str, str]) -> None:
    response = await api.post("/oauth/token", data=form)
    body = assert_4xx(response)
    assert body["error"] in ("invalid_grant", "invalid_client")
    assert body["traceId"] == response.headers["x-request-id"]


async def test_nul_in_a_basic_login_is_401_in_pipeliner_shape(api: Api) -> None:
    await create_entity(api, "Account", [field("name")])
    credential = base64.b64encode(b"app\x00:secret").decode()
    response = await api.get(f"{SPACE}/entities/Accounts", headers={"Authorization": f"Basic {credential}"})
    assert response.status_code == 401, response.text
    assert response.json()["name"] == "ERROR_UNAUTHENTICATED"


async def test_nul_in_an_admin_created_user_is_400(api: Api) -> None:
    response = await api.post(
        "/api/admin/users", json={"name": "a\x00b", "login": "a\x00b", "password": "a long enough pass"}
    )
    assert_envelope(response, 400)


# Paging numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        f"start={HUGE}",
        f"$skip={HUGE}",
        f"$top={HUGE}",
        f"limit={HUGE}",
        "start=-1",
        "$skip=-5",
        "$top=-1",
        "start=" + "9" * 5000,
        "$skip=" + "9" * 5000,
    ],
)
async def test_huge_or_negative_paging_is_400(api: Api, query: str) -> None:
    await create_entity(api, "Thing", [field("name")])
    response = await api.get(f"{DS}/EntityService/Thing/read?{query}")
    assert_envelope(response, 400)


@pytest.mark.parametrize("body", [{"start": 2**63}, {"start": -1}, {"limit": 2**63}, {"start": 10**30}])
async def test_huge_paging_in_a_query_body_is_400(api: Api, body: dict[str, Any]) -> None:
    await create_entity(api, "Thing", [field("name")])
    response = await api.post(f"{DS}/EntityService/Thing/query", json=body)
    assert_envelope(response, 400)


@pytest.mark.parametrize("query", [f"first={HUGE}", "first=-1", "first=²", "last=" + "9" * 5000])
async def test_huge_pipeliner_page_sizes_are_400(api: Api, query: str) -> None:
    await create_entity(api, "Account", [field("name")])
    response = await api.get(f"{SPACE}/entities/Accounts?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["success"] is False


@pytest.mark.parametrize("query", [f"start={HUGE}", "limit=-1", "start=x"])
async def test_admin_paging_is_400(api: Api, query: str) -> None:
    assert_envelope(await api.get(f"/api/admin/audit?{query}"), 400)


async def test_choice_set_value_paging_is_400(api: Api) -> None:
    response = await api.post(f"{DF}/Entity/choiceset", json={"name": "Status", "values": ["Open"]})
    choice_set = response.json()
    url = f"{DF}/EntityService/entity/{choice_set}/query_expansion?start={HUGE}"
    assert_envelope(await api.post(url, json={}), 400)
    assert_envelope(
        await api.post(f"{DF}/EntityService/entity/{choice_set}/query_expansion", json={"start": 2**63}), 400
    )


# Schema bodies -------------------------------------------------------------------------------------


@pytest.mark.parametrize("choice_set", [5, ["x"], {"id": "x"}, True])
async def test_a_non_string_choice_set_id_is_400(api: Api, choice_set: Any) -> None:
    body = {
        "entityDefinition": {
            "name": "Thing",
            "fields": [field("status", "INT", "ChoiceSetSingle", choiceSetId=choice_set)],
        }
    }
    assert_envelope(await api.post(f"{DF}/Entity", json=body), 400)
    assert (await api.get(f"{DF}/Entity/Thing/metadata")).status_code == 404


# Admin API bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/admin/users", {"name": 5, "login": "ann", "password": "a long enough pass"}),
        ("/api/admin/users", {"name": "Ann", "login": ["ann"], "password": "a long enough pass"}),
        ("/api/admin/users", {"name": "Ann", "login": "ann", "password": 12345678}),
        ("/api/admin/users", {"name": "A" * 100_000, "login": "ann", "password": "a long enough pass"}),
        ("/api/admin/users", {"name": "Ann", "login": "a" * 100_000, "password": "a long enough pass"}),
        ("/api/admin/users", {"name": "Ann", "login": "ann", "password": "p" * 100_000}),
        ("/api/admin/applications", {"name": {"x": 1}}),
        ("/api/admin/groups", {"name": None}),
        ("/api/admin/roles", {"name": 5}),
        ("/api/admin/roles", {"name": "R" * 100_000}),
        ("/api/admin/roles", {"name": "R", "entities": "all"}),
        ("/api/admin/roles", {"name": "R", "rights": [5]}),
        ("/api/admin/roles", {"name": "R", "entities": {"Thing": 5}}),
        ("/api/admin/roles", {"name": "R", "entities": {"Thing": {"read": "yes"}}}),
        ("/api/admin/tokens", {"name": 5}),
        ("/api/admin/tokens", {"name": "n" * 100_000}),
        ("/api/admin/tokens", {"principalId": 5}),
    ],
)
async def test_admin_api_refuses_wrong_types_and_long_values(
    api: Api, url: str, body: dict[str, Any]
) -> None:
    await create_entity(api, "Thing", [field("name")])
    assert_envelope(await api.post(url, json=body), 400)


@pytest.mark.parametrize(
    "body",
    [{"password": 5}, {"disabled": "yes"}, {"password": "p" * 100_000}, {"password": "a\x00bcdefghij"}],
)
async def test_admin_principal_update_refuses_wrong_types(api: Api, body: dict[str, Any]) -> None:
    created = await api.post(
        "/api/admin/users", json={"name": "Ann", "login": "ann", "password": "a long enough pass"}
    )
    assert created.status_code == 201, created.text
    principal = created.json()["id"]
    assert_envelope(await api.patch(f"/api/admin/principals/{principal}", json=body), 400)


@pytest.mark.parametrize("path", ["/api/admin/principals/" + "x" * 5000, "/api/admin/roles/a%00b"])
async def test_admin_paths_with_odd_ids_are_4xx(api: Api, path: str) -> None:
    response = (
        await api.patch(path, json={"disabled": True}) if "principals" in path else await api.delete(path)
    )
    assert_4xx(response)


# Pipeliner-prefixed 404 and 405 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", f"{SPACE}/nowhere", 404),
        ("GET", f"{SPACE}/entities/Accounts/x/y/z", 404),
        ("PUT", f"{SPACE}/entities/Accounts", 405),
        ("POST", f"{SPACE}/entities/Accounts/some-id", 405),
    ],
)
async def test_pipeliner_404_and_405_use_pipeliners_shape(
    api: Api, method: str, path: str, status: int
) -> None:
    response = await api.request(method, path)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["http_status"] == status and isinstance(body["code"], int)
    assert set(body) == {"code", "name", "message", "http_status", "success"}
    if status == 405:
        assert response.headers["Allow"]


# Roles naming what does not exist ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "R", "entities": {"Nowhere": {"actions": ["read"]}}}, "nowhere"),
        ({"name": "R", "fields": {"Thing": {"ghost": {"read": True}}}}, "Thing.ghost"),
        ({"name": "R", "fields": {"Nowhere": {"name": {"read": True}}}}, "nowhere"),
        ({"name": "R", "entities": {"Thing": {"actions": ["read"], "extra": 1}}}, "extra"),
        ({"name": "R", "colour": "red"}, "colour"),
    ],
)
async def test_a_role_naming_unknown_entities_fields_or_keys_is_refused(
    api: Api, body: dict[str, Any], named: str
) -> None:
    await create_entity(api, "Thing", [field("name")])
    refused = assert_envelope(await api.post("/api/admin/roles", json=body), 400)
    assert named in refused["error"]
    assert "R" not in [r["name"] for r in (await api.get("/api/admin/roles")).json()]
    good = {"name": "R", "entities": {"Thing": {"actions": ["read"]}, "*": {"actions": ["read"]}},
            "fields": {"Thing": {"name": {"read": True, "write": False}}}}  # fmt: skip
    assert (await api.post("/api/admin/roles", json=good)).status_code == 201


# Junk query parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix", "query"),
    [
        ("GET", "", "frist=10"),
        ("GET", "", "filter=name"),
        ("GET", "", "first=10&sort=name"),
        ("GET", "/{id}", "expnad=owner"),
        ("POST", "/batch-modify", "rollback=1"),
        ("POST", "/batch-delete", "rollback_method=1"),
        ("PATCH", "/{id}", "dry-run=true"),
        ("DELETE", "/{id}", "force=true"),
    ],
)
async def test_pipeliner_refuses_parameters_its_contract_does_not_name(
    api: Api, method: str, suffix: str, query: str
) -> None:
    await create_entity(api, "Account", [field("name")])
    created = await api.post(f"{SPACE}/entities/Accounts", json={"name": "Acme"})
    record = created.json()["data"]["id"]
    body = [] if "batch" in suffix else {"name": "x"} if method == "PATCH" else None
    url = f"{SPACE}/entities/Accounts{suffix.format(id=record)}?{query}"
    response = (
        await api.request(method, url, json=body) if body is not None else await api.request(method, url)
    )
    assert response.status_code == 400, response.text
    refused = response.json()
    assert refused["success"] is False and refused["code"] == 117
    assert query.split("=", maxsplit=1)[0] in refused["message"]
    assert (await api.get(f"{SPACE}/entities/Accounts/{record}")).json()["data"]["name"] == "Acme"


async def test_pipeliner_accepts_the_parameters_it_documents(api: Api) -> None:
    await create_entity(api, "Account", [field("name")])
    query = (
        "first=5&order-by=-name&load-only=name&include-deleted=true&filter[name]=A&filter-op[name]=icontains"
    )
    assert (await api.get(f"{SPACE}/entities/Accounts?{query}")).status_code == 200
    created = await api.post(f"{SPACE}/entities/Accounts?validation-level=0", json={"name": "Acme"})
    assert created.status_code == 201, created.text


async def test_data_service_routes_accept_parameters_the_sdk_adds(api: Api) -> None:
    """The UiPath contract is not exact (SDK versions add their own), so unknown parameters pass."""
    await create_entity(api, "Thing", [field("name")])
    response = await api.get(f"{DS}/EntityService/Thing/read?start=0&limit=10&expansionLevel=1&sdkVersion=2")
    assert response.status_code == 200, response.text


async def test_an_error_outside_any_endpoint_carries_the_request_id(api: Api) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("boom")

    transport = api.client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    app.router.routes.append(Route("/boom-for-test", boom))  # type: ignore[attr-defined]
    quiet = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=quiet, base_url="http://testserver") as client:
        response = await client.get("/boom-for-test", headers={"X-Request-Id": "trace-me-42"})
    assert response.status_code == 500
    assert response.json() == {
        "error": "Internal server error.",
        "code": "INTERNAL_ERROR",
        "traceId": "trace-me-42",
    }
    assert response.headers["x-request-id"] == "trace-me-42"


@pytest.mark.parametrize(
    ("fields", "extra", "named"),
    [
        ([{"name": "age", "type": "integer"}], {}, "type"),
        ([{"name": "age", "sqlType": {"name": "INT", "precision": 3}}], {}, "precision"),
        ([{"name": "age", "fieldDisplayType": "Fancy"}], {}, "Fancy"),
        ([{"name": "age", "sqlType": {"name": "INTEGER"}}], {}, "INTEGER"),
        ([{"name": "age", "sqlType": "INT"}], {}, "sqlType"),
        ([field("age", "INT")], {"colour": "red"}, "colour"),
    ],
)
async def test_unknown_field_keys_and_types_are_refused_by_name(
    api: Api, fields: list[dict[str, Any]], extra: dict[str, Any], named: str
) -> None:
    body = {"entityDefinition": {"name": "Thing", "fields": fields, **extra}}
    refused = assert_envelope(await api.post(f"{DF}/Entity", json=body), 400)
    assert named in refused["error"]
    assert (await api.get(f"{DF}/Entity/Thing/metadata")).status_code == 404


async def test_the_sdks_full_create_payload_is_accepted(api: Api) -> None:
    """Every key uipath 2.x sends on create_entity (v1 and v3), so nothing the SDK sends is refused."""
    age = {**field("age", "INT", sql_type={"minValue": 0, "maxValue": 10}), "defaultValue": "1"}
    body = {
        "displayName": "Thing",
        "description": "d",
        "entityDefinition": {
            "name": "Thing",
            "fields": [age, {**field("title"), "referenceFieldName": None}],
            "folderId": "00000000-0000-0000-0000-000000000000",
            "isRbacEnabled": False,
            "isInsightsEnabled": False,
            "externalFields": [],
            "entityClassId": 9,
        },
    }
    response = await api.post(f"{DF}/v3/entities", json=body)
    assert response.status_code == 200, response.text
    fetched = (await api.get(f"{DF}/Entity/Thing/metadata")).json()
    assert {f["name"]: f["sqlType"]["name"] for f in fetched["fields"]}["age"] == "BIGINT"
