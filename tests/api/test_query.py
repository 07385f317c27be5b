"""UiPath query (`POST …/query`) and OData list (`GET …/read?$filter=…`) scenarios, on SQLite and PostgreSQL.

Each scenario seeds a small, fixed set of customers and purchases through the record API, then
checks what every operator, group, path, sort and page returns, by record name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recordbase.core.query import matrix_markdown
from tests.api.helpers import DF, DS, create_entity, field, standard_entities
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

CUSTOMERS = f"{DF}/EntityService/Customer"
PURCHASES = f"{DF}/EntityService/Purchase"
PEOPLE: list[dict[str, Any]] = [
    {
        "fullName": "Ann",
        "age": 41,
        "balance": 12.5,
        "active": True,
        "birthday": "1983-04-05",
        "lastSeen": "2024-05-01T14:30:00+02:00",
        "status": 1,
        "tags": [0, 2],
        "email": "ann@example.com",
        "notes": "Likes tea",
    },
    {
        "fullName": "Bob",
        "age": 25,
        "balance": 3.25,
        "active": False,
        "birthday": "1999-12-31",
        "lastSeen": "2024-05-02T00:00:00Z",
        "status": 0,
        "tags": [1],
        "email": "bob@example.com",
        "notes": "likes coffee",
    },
    {"fullName": "Cy"},
    {
        "fullName": "Dee",
        "age": 41,
        "balance": 100,
        "active": True,
        "birthday": "1983-04-05",
        "lastSeen": "2024-05-01T12:30:00Z",
        "status": 2,
        "tags": [2],
        "email": "dee@example.org",
    },
    {
        "fullName": "eve",
        "age": 60,
        "balance": -1.5,
        "active": False,
        "status": 1,
        "tags": [0, 1, 2],
        "email": "EVE@example.com",
        "notes": "",
    },
]


async def seed(api: Api) -> dict[str, str]:
    """The five customers and three purchases (two pointing at Ann and Bob); ids by name."""
    await standard_entities(api)
    ids: dict[str, str] = {}
    for person in PEOPLE:
        response = await api.post(f"{CUSTOMERS}/insert", json=person)
        assert response.status_code == 200, response.text
        ids[person["fullName"]] = response.json()["Id"]
    for title, owner in (("P1", "Ann"), ("P2", "Bob"), ("P3", None)):
        body = {"title": title, "customer": ids[owner] if owner else None}
        response = await api.post(f"{PURCHASES}/insert", json=body)
        assert response.status_code == 200, response.text
        ids[title] = response.json()["Id"]
    return ids


def where(name: str, operator: str, value: Any = None, values: list[str] | None = None) -> dict[str, Any]:
    """A body with one condition; `value` None leaves the key out (the SDK's null check)."""
    condition: dict[str, Any] = {"fieldName": name, "operator": operator}
    if value is not None:
        condition["value"] = value
    if values is not None:
        condition["valueList"] = values
    return {"filterGroup": {"logicalOperator": 0, "queryFilters": [condition]}}


async def query(api: Api, url: str, body: Any, status: int = 200, **params: Any) -> dict[str, Any]:
    response = await api.post(f"{url}/query", json=body, params=params)
    assert response.status_code == status, response.text
    return dict(response.json())


def names(body: dict[str, Any], key: str = "fullName") -> list[str]:
    return [record[key] for record in body["value"]]


OPERATOR_CASES: list[tuple[str, str, Any, list[str] | None, set[str]]] = [
    ("fullName", "=", "Ann", None, {"Ann"}),
    ("fullName", "!=", "Ann", None, {"Bob", "Cy", "Dee", "eve"}),
    ("fullName", "contains", "e", None, {"Dee", "eve"}),
    ("fullName", "not contains", "e", None, {"Ann", "Bob", "Cy"}),
    ("fullName", "startswith", "D", None, {"Dee"}),
    ("fullName", "endswith", "b", None, {"Bob"}),
    ("fullName", "in", None, ["Ann", "Cy", "Zed"], {"Ann", "Cy"}),
    ("fullName", "not in", None, ["Ann", "Cy"], {"Bob", "Dee", "eve"}),
    ("age", ">", "30", None, {"Ann", "Dee", "eve"}),
    ("age", ">=", "41", None, {"Ann", "Dee", "eve"}),
    ("age", "<", "41", None, {"Bob"}),
    ("age", "<=", "25", None, {"Bob"}),
    ("age", "=", None, None, {"Cy"}),
    ("age", "!=", None, None, {"Ann", "Bob", "Dee", "eve"}),
    ("age", "in", None, ["25", "60"], {"Bob", "eve"}),
    ("age", "not in", None, ["41"], {"Bob", "Cy", "eve"}),
    ("age", "!=", "41", None, {"Bob", "Cy", "eve"}),
    ("balance", ">", "12.49", None, {"Ann", "Dee"}),
    ("balance", "=", "3.25", None, {"Bob"}),
    ("balance", "<", "0", None, {"eve"}),
    ("active", "=", "true", None, {"Ann", "Dee"}),
    ("active", "=", "false", None, {"Bob", "eve"}),
    ("active", "!=", "true", None, {"Bob", "Cy", "eve"}),
    ("birthday", "=", "1983-04-05", None, {"Ann", "Dee"}),
    ("birthday", "<", "1990-01-01", None, {"Ann", "Dee"}),
    ("birthday", "in", None, ["1999-12-31"], {"Bob"}),
    ("lastSeen", "=", "2024-05-01T12:30:00Z", None, {"Ann", "Dee"}),
    ("lastSeen", ">", "2024-05-01T13:00:00+01:00", None, {"Ann", "Bob", "Dee"}),
    ("lastSeen", "<", "2024-05-02", None, {"Ann", "Dee"}),
    ("status", "=", "1", None, {"Ann", "eve"}),
    ("status", "in", None, ["0", "2"], {"Bob", "Dee"}),
    ("status", "=", None, None, {"Cy"}),
    ("tags", "=", "[0,2]", None, {"Ann"}),
    ("tags", "contains", "2", None, {"Ann", "Dee", "eve"}),
    ("tags", "not contains", "2", None, {"Bob", "Cy"}),
    ("email", "endswith", ".org", None, {"Dee"}),
    ("email", "=", "eve@example.com", None, set()),
    ("notes", "=", "", None, {"eve"}),
    ("notes", "=", None, None, {"Cy", "Dee"}),
    ("notes", "contains", "ikes", None, {"Ann", "Bob"}),
    ("photo", "=", None, None, {"Ann", "Bob", "Cy", "Dee", "eve"}),
    ("photo", "!=", None, None, set()),
    ("externalId", "=", None, None, {"Ann", "Bob", "Cy", "Dee", "eve"}),
    ("seq", ">=", "4", None, {"Dee", "eve"}),
]


async def test_every_operator_on_every_type(api: Api) -> None:
    await seed(api)
    for name, operator, value, values, expected in OPERATOR_CASES:
        body = await query(api, CUSTOMERS, where(name, operator, value, values))
        assert set(names(body)) == expected, (name, operator, value, values)
        assert body["totalRecordCount"] == len(expected)


async def test_system_fields_filter_and_sort(api: Api) -> None:
    ids = await seed(api)
    assert names(await query(api, CUSTOMERS, where("Id", "=", ids["Bob"].upper()))) == ["Bob"]
    assert set(names(await query(api, CUSTOMERS, where("Id", "in", values=[ids["Ann"], ids["Cy"]])))) == {
        "Ann",
        "Cy",
    }
    newest = await query(api, CUSTOMERS, {"sortOptions": [{"fieldName": "CreateTime", "isDescending": True}]})
    times = [record["CreateTime"] for record in newest["value"]]
    assert times == sorted(times, reverse=True)
    # The last one seeded is among the newest (two inserts may share a millisecond).
    assert "eve" in [name for name, at in zip(names(newest), times, strict=True) if at == times[0]]
    creator = newest["value"][0]["CreatedBy"]
    assert len(names(await query(api, CUSTOMERS, where("CreatedBy", "=", creator)))) == 5


NESTED: list[tuple[dict[str, Any], set[str]]] = [
    (  # the documented shape: a root OR over two AND groups
        {
            "logicalOperator": 1,
            "filterGroups": [
                {
                    "logicalOperator": 0,
                    "queryFilters": [
                        {"fieldName": "status", "operator": "=", "value": "1"},
                        {"fieldName": "age", "operator": ">", "value": "50"},
                    ],
                },
                {
                    "logicalOperator": 0,
                    "queryFilters": [
                        {"fieldName": "active", "operator": "=", "value": "false"},
                        {"fieldName": "age", "operator": "<", "value": "30"},
                    ],
                },
            ],
        },
        {"eve", "Bob"},
    ),
    (  # filters AND a nested OR group
        {
            "logicalOperator": 0,
            "queryFilters": [{"fieldName": "age", "operator": ">", "value": "20"}],
            "filterGroups": [
                {
                    "logicalOperator": 1,
                    "queryFilters": [
                        {"fieldName": "status", "operator": "=", "value": "0"},
                        {"fieldName": "status", "operator": "=", "value": "2"},
                    ],
                }
            ],
        },
        {"Bob", "Dee"},
    ),
    (  # continueLogicalOperator OR joins a group to the filters before it
        {
            "logicalOperator": 0,
            "queryFilters": [{"fieldName": "active", "operator": "=", "value": "true"}],
            "filterGroups": [
                {
                    "continueLogicalOperator": 1,
                    "queryFilters": [{"fieldName": "fullName", "operator": "=", "value": "Bob"}],
                }
            ],
        },
        {"Ann", "Dee", "Bob"},
    ),
    (  # three levels, with a null check and `in` at the bottom
        {
            "logicalOperator": 1,
            "queryFilters": [{"fieldName": "age", "operator": "="}],
            "filterGroups": [
                {
                    "logicalOperator": 0,
                    "queryFilters": [{"fieldName": "active", "operator": "=", "value": "true"}],
                    "filterGroups": [
                        {
                            "logicalOperator": 1,
                            "queryFilters": [
                                {"fieldName": "tags", "operator": "contains", "value": "0"},
                                {"fieldName": "email", "operator": "in", "valueList": ["dee@example.org"]},
                            ],
                        }
                    ],
                }
            ],
        },
        {"Cy", "Ann", "Dee"},
    ),
    ({"logicalOperator": 1, "queryFilters": [], "filterGroups": [None]}, {"Ann", "Bob", "Cy", "Dee", "eve"}),
]


async def test_nested_groups(api: Api) -> None:
    await seed(api)
    for group, expected in NESTED:
        body = await query(api, CUSTOMERS, {"filterGroup": group})
        assert set(names(body)) == expected, group
        assert body["totalRecordCount"] == len(expected)


async def test_dot_paths_through_a_relationship(api: Api) -> None:
    ids = await seed(api)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        (where("customer.fullName", "=", "Ann"), ["P1"]),
        (where("customer.age", ">", "30"), ["P1"]),
        (where("customer.fullName", "!=", "Ann"), ["P2", "P3"]),
        (where("customer.tags", "contains", "1"), ["P2"]),
        (where("customer", "=", ids["Bob"]), ["P2"]),
        (where("customer", "="), ["P3"]),
    ]
    for body, expected in cases:
        assert sorted(names(await query(api, PURCHASES, body), "title")) == expected, body
    ordered = await query(
        api, PURCHASES, {"sortOptions": [{"fieldName": "customer.fullName", "isDescending": True}]}
    )
    assert names(ordered, "title") == ["P2", "P1", "P3"]
    shallow = await query(api, PURCHASES, where("customer.fullName", "=", "Ann"), 400, expansionLevel=1)
    assert "customer.fullName" in shallow["error"] and "expansionLevel" in shallow["error"]


async def test_sort_pages_and_total_before_paging(api: Api) -> None:
    await seed(api)
    sort = [{"fieldName": "age", "isDescending": True}, {"fieldName": "fullName"}]
    everything = ["eve", "Ann", "Dee", "Bob", "Cy"]  # nulls last when descending
    pages = [await query(api, CUSTOMERS, {"sortOptions": sort, "start": s, "limit": 2}) for s in (0, 2, 4)]
    assert [names(p) for p in pages] == [everything[0:2], everything[2:4], everything[4:]]
    assert [p["totalRecordCount"] for p in pages] == [5, 5, 5]
    assert [p["hasNextPage"] for p in pages] == [True, True, False]
    ascending = await query(
        api, CUSTOMERS, {"sortOptions": [{"fieldName": "age"}, {"fieldName": "fullName"}]}
    )
    assert names(ascending) == ["Cy", "Bob", "Ann", "Dee", "eve"]
    beyond = await query(api, CUSTOMERS, {"start": 10, "limit": 2})
    assert beyond["value"] == [] and beyond["totalRecordCount"] == 5


async def test_cursor_pages_walk_the_same_order(api: Api) -> None:
    await seed(api)
    sort = [{"fieldName": "balance"}, {"fieldName": "fullName", "isDescending": True}]
    body: dict[str, Any] = {
        "sortOptions": sort,
        "limit": 2,
        "filterGroup": where("age", "!=", "60")["filterGroup"],
    }
    walked: list[str] = []
    page = await query(api, CUSTOMERS, body)
    while True:
        walked += names(page)
        assert page["totalRecordCount"] == 4
        if not page["hasNextPage"]:
            assert "nextCursor" not in page
            break
        page = await query(api, CUSTOMERS, {**body, "cursor": page["nextCursor"]})
    assert walked == ["Cy", "Bob", "Ann", "Dee"]
    first = await query(api, CUSTOMERS, body)
    other_sort = {**body, "sortOptions": [{"fieldName": "age"}], "cursor": first["nextCursor"]}
    assert (await query(api, CUSTOMERS, other_sort, 400))["code"] == "INVALID_CURSOR"
    assert (await query(api, CUSTOMERS, {**body, "cursor": "not-a-cursor"}, 400))["code"] == "INVALID_CURSOR"
    assert (await query(api, CUSTOMERS, {**body, "cursor": 7}, 400))["code"] == "INVALID_CURSOR"
    mixed = await query(api, CUSTOMERS, {**body, "start": 2, "cursor": first["nextCursor"]}, 400)
    assert mixed["code"] == "INVALID_CURSOR"


async def test_cursor_through_a_dot_path_sort(api: Api) -> None:
    await seed(api)
    body: dict[str, Any] = {"sortOptions": [{"fieldName": "customer.age"}], "limit": 1}
    walked: list[str] = []
    page = await query(api, PURCHASES, body)
    while True:
        walked += names(page, "title")
        if not page["hasNextPage"]:
            break
        page = await query(api, PURCHASES, {**body, "cursor": page["nextCursor"]})
    assert walked == ["P3", "P2", "P1"]


async def test_selected_fields_and_expansion(api: Api) -> None:
    ids = await seed(api)
    body = await query(
        api, CUSTOMERS, {**where("fullName", "=", "Ann"), "selectedFields": ["fullName", "age"]}
    )
    assert body["value"] == [{"Id": ids["Ann"], "fullName": "Ann", "age": 41}]
    deep = await query(api, PURCHASES, where("title", "=", "P1"), expansionLevel=2)
    assert deep["value"][0]["customer"]["fullName"] == "Ann"
    flat = await query(api, PURCHASES, where("title", "=", "P1"), expansionLevel=1)
    assert flat["value"][0]["customer"] == {"Id": ids["Ann"]}
    unknown = await query(api, CUSTOMERS, {"selectedFields": ["nope"]}, 400)
    assert "nope" in unknown["error"]


async def test_every_route_family_and_empty_results(api: Api) -> None:
    ids = await standard_entities(api)
    await api.post(f"{CUSTOMERS}/insert", json={"fullName": "Solo"})
    body = where("fullName", "=", "Solo")
    for url in (
        f"{DF}/EntityService/entity/{ids['Customer']}",
        f"{DS}/v3/entities/entity/{ids['Customer']}",
        "/api/EntityService/customer",
        f"/api/v3/entities/entity/{ids['Customer']}",
    ):
        assert names(await query(api, url, body)) == ["Solo"], url
    empty = await query(api, CUSTOMERS, where("fullName", "=", "Nobody"))
    assert empty == {"totalRecordCount": 0, "value": [], "hasNextPage": False}
    assert (await query(api, CUSTOMERS, {}))["totalRecordCount"] == 1
    missing = await api.post(f"{DF}/EntityService/Nope/query", json={})
    assert missing.status_code == 404 and missing.json()["code"] == "ENTITY_NOT_FOUND"


ERRORS: list[tuple[Any, str, list[str]]] = [
    (where("fullName", "equals", "Ann"), "INVALID_QUERY", ["equals", "fullName"]),
    (where("fullname", "=", "Ann"), "INVALID_QUERY", ["fullname", "fullName"]),
    (where("fullName", "<", "B"), "INVALID_QUERY", ["'<'", "fullName"]),
    (where("age", "contains", "4"), "INVALID_QUERY", ["contains", "age"]),
    (where("age", ">", "old"), "INVALID_QUERY", ["age", "'>'"]),
    (where("status", "=", "Nope"), "INVALID_QUERY", ["status"]),
    (where("tags", "=", "2"), "INVALID_QUERY", ["tags"]),
    (where("photo", "=", "x"), "INVALID_QUERY", ["photo"]),
    (where("age", "in", "41"), "INVALID_QUERY", ["age", "valueList"]),
    (where("age", "=", None, ["41"]), "INVALID_QUERY", ["age", "valueList"]),
    (where("age", ">"), "INVALID_QUERY", ["age", "'>'"]),
    ({"limit": 1001}, "INVALID_QUERY", ["limit", "1000"]),
    ({"start": -1}, "INVALID_QUERY", ["start"]),
    ({"sortOptions": [{"fieldName": "tags"}]}, "INVALID_QUERY", ["tags"]),
    ({"filterGroup": {"logicalOperator": 7}}, "INVALID_QUERY", ["logicalOperator"]),
    ({"aggregates": [{"function": "MEDIAN", "field": "Id"}]}, "INVALID_QUERY", ["aggregates"]),
    ({"expansions": [{"expandedField": "customer"}]}, "UNSUPPORTED", ["expansions"]),
    ([1, 2], "INVALID_QUERY", ["object"]),
]


async def test_errors_name_the_field_and_the_operator(api: Api) -> None:
    await seed(api)
    for body, code, words in ERRORS:
        answer = await query(api, CUSTOMERS, body, 400)
        assert answer["code"] == code, body
        assert all(word in answer["error"] for word in words), (body, answer["error"])
        assert set(answer) >= {"error", "code", "traceId"}


def nested(depth: int) -> dict[str, Any]:
    group: dict[str, Any] = {"queryFilters": [{"fieldName": "age", "operator": "=", "value": "1"}]}
    for _ in range(depth):
        group = {"logicalOperator": 1, "filterGroups": [group]}
    return group


async def test_size_and_depth_limits(api: Api) -> None:
    await seed(api)
    assert (await query(api, CUSTOMERS, {"filterGroup": nested(6)}))["totalRecordCount"] == 0
    deep = await query(api, CUSTOMERS, {"filterGroup": nested(40)}, 400)
    assert deep["code"] == "QUERY_TOO_COMPLEX"
    wide = {"queryFilters": [{"fieldName": "age", "operator": "=", "value": str(n)} for n in range(201)]}
    assert (await query(api, CUSTOMERS, {"filterGroup": wide}, 400))["code"] == "QUERY_TOO_COMPLEX"
    bottomless = "[" * 5000 + "]" * 5000
    raw = await api.post(
        f"{CUSTOMERS}/query", content=bottomless, headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 400
    long_list = where("age", "in", values=[str(n) for n in range(1001)])
    assert (await query(api, CUSTOMERS, long_list, 400))["code"] == "INVALID_QUERY"


# --- OData on GET …/read -------------------------------------------------------------------------

ODATA: list[tuple[dict[str, str], list[str]]] = [
    ({"$filter": "age gt 30 and active eq true", "$orderby": "fullName"}, ["Ann", "Dee"]),
    (
        {"$filter": "contains(fullName,'e') or startswith(fullName,'B')", "$orderby": "fullName"},
        ["Bob", "Dee", "eve"],
    ),
    ({"$filter": "status in (0, 2)", "$orderby": "age desc"}, ["Dee", "Bob"]),
    ({"$filter": "notes eq null", "$orderby": "fullName"}, ["Cy", "Dee"]),
    ({"$filter": "not contains(fullName,'e')", "$orderby": "fullName"}, ["Ann", "Bob", "Cy"]),
    (
        {"$filter": "birthday lt 1990-01-01 and lastSeen ge 2024-05-01T12:30:00Z", "$orderby": "fullName"},
        ["Ann", "Dee"],
    ),
    ({"$orderby": "age desc,fullName", "$top": "2", "$skip": "1"}, ["Ann", "Dee"]),
    ({"$orderby": "age desc,fullName", "limit": "2", "start": "3"}, ["Bob", "Cy"]),
    ({"$filter": "(age eq 25 or age eq 60) and balance lt 10", "$orderby": "fullName"}, ["Bob", "eve"]),
]


async def test_odata_list_parameters(api: Api) -> None:
    await seed(api)
    for params, expected in ODATA:
        response = await api.get(f"{CUSTOMERS}/read", params=params)
        assert response.status_code == 200, (params, response.text)
        assert names(response.json()) == expected, params
    counted = (await api.get(f"{CUSTOMERS}/read", params={"$filter": "age ge 41", "$top": "1"})).json()
    assert counted["totalRecordCount"] == 3 and len(counted["value"]) == 1 and counted["hasNextPage"]
    selected = (
        await api.get(f"{CUSTOMERS}/read", params={"$select": "fullName", "$filter": "age eq 25"})
    ).json()
    assert [set(r) for r in selected["value"]] == [{"Id", "fullName"}]
    expanded = (
        await api.get(
            f"{PURCHASES}/read",
            params={"$expand": "customer", "expansionLevel": "1", "$filter": "title eq 'P1'"},
        )
    ).json()
    assert expanded["value"][0]["customer"]["fullName"] == "Ann"
    plain = (await api.get(f"{CUSTOMERS}/read", params={"limit": "2"})).json()
    assert plain["totalRecordCount"] == 5 and len(plain["value"]) == 2
    top = (await api.get(f"{CUSTOMERS}/read", params={"$top": "2", "$skip": "4"})).json()
    assert top["totalRecordCount"] == 5 and len(top["value"]) == 1


async def test_odata_cursor_pages(api: Api) -> None:
    await seed(api)
    params = {"$orderby": "fullName desc", "$top": "2"}
    first = (await api.get(f"{CUSTOMERS}/read", params=params)).json()
    second = (await api.get(f"{CUSTOMERS}/read", params={**params, "cursor": first["nextCursor"]})).json()
    assert names(first) + names(second) == ["eve", "Dee", "Cy", "Bob"]


ODATA_ERRORS: list[tuple[dict[str, str], list[str]]] = [
    ({"$filter": "length(fullName) gt 3"}, ["length"]),
    ({"$filter": "age gt 'x'"}, ["age"]),
    ({"$filter": "fullName lt 'B'"}, ["fullName", "'<'"]),
    ({"$filter": "nope eq 1"}, ["nope"]),
    ({"$filter": "age eq"}, ["end"]),
    ({"$orderby": "age sideways"}, ["age sideways"]),
    ({"$select": "fullName(x)"}, ["fullName(x)"]),
    ({"$expand": "fullName"}, ["fullName"]),
    ({"$filter": "age eq 1", "$top": "1001"}, ["limit"]),
]


async def test_odata_errors_are_400_and_say_what(api: Api) -> None:
    await seed(api)
    for params, words in ODATA_ERRORS:
        response = await api.get(f"{CUSTOMERS}/read", params=params)
        assert response.status_code == 400, (params, response.text)
        body = response.json()
        assert body["code"] in ("INVALID_QUERY", "QUERY_TOO_COMPLEX"), params
        assert all(word in body["error"] for word in words), (params, body["error"])


# --- permissions ---------------------------------------------------------------------------------


async def role(api: Api, body: dict[str, Any]) -> None:
    response = await api.post(f"{ADMIN}/roles", json=body)
    assert response.status_code == 201, response.text


async def user(api: Api, login: str, roles: list[str]) -> dict[str, str]:
    await create_user(api, login, roles)
    return bearer((await password_token(api, login))["access_token"])


async def test_own_records_only_counts_only_own(api: Api) -> None:
    await seed(api)
    await role(
        api,
        {
            "name": "Own",
            "rights": ["view_schema"],
            "entities": {
                "Customer": {"actions": ["read", "create"], "ownOnly": ["read"]},
                "Purchase": {"actions": ["read", "create"]},
            },
        },
    )
    ann = await user(api, "ann", ["Own"])
    await api.post(f"{CUSTOMERS}/insert", json={"fullName": "Ann's own", "age": 41}, headers=ann)
    mine = await api.post(f"{CUSTOMERS}/query", json=where("age", "=", "41"), headers=ann)
    assert mine.status_code == 200
    assert mine.json()["totalRecordCount"] == 1 and names(mine.json()) == ["Ann's own"]
    everyone = await api.post(f"{CUSTOMERS}/query", json={"limit": 1}, headers=ann)
    assert everyone.json()["totalRecordCount"] == 1 and not everyone.json()["hasNextPage"]
    # Others' customers read as null through a dot path: no purchase has a visible customer.
    through = await api.post(f"{PURCHASES}/query", json=where("customer.fullName", "=", "Ann"), headers=ann)
    assert through.json()["totalRecordCount"] == 0
    negated = await api.post(f"{PURCHASES}/query", json=where("customer.fullName", "!=", "Ann"), headers=ann)
    assert negated.json()["totalRecordCount"] == 3
    by_id = await api.post(f"{PURCHASES}/query", json=where("customer", "="), headers=ann)
    assert by_id.json()["totalRecordCount"] == 1  # the relationship value itself is readable
    sorted_by = {"sortOptions": [{"fieldName": "customer.fullName"}]}
    assert (await api.post(f"{PURCHASES}/query", json=sorted_by, headers=ann)).status_code == 403


async def test_unreadable_field_is_forbidden_and_not_named(api: Api) -> None:
    await create_entity(api, "Staff", [field("fullName"), field("salary", "INT", isRbacEnabled=True)])
    await api.post(f"{DF}/EntityService/Staff/insert", json={"fullName": "A", "salary": 10})
    reader = await user(api, "reader", ["Data Reader"])
    url = f"{DF}/EntityService/Staff/query"
    for body in (
        where("salary", ">", "5"),
        {"sortOptions": [{"fieldName": "salary"}]},
        {"selectedFields": ["fullName", "salary"]},
        {
            "filterGroup": {
                "logicalOperator": 1,
                "queryFilters": [
                    {"fieldName": "fullName", "operator": "=", "value": "A"},
                    {"fieldName": "salary", "operator": "="},
                ],
            }
        },
    ):
        response = await api.post(url, json=body, headers=reader)
        assert response.status_code == 403, body
        assert "salary" not in response.text
    odata = await api.get(f"{DF}/EntityService/Staff/read", params={"$filter": "salary gt 5"}, headers=reader)
    assert odata.status_code == 403 and "salary" not in odata.text
    allowed = await api.post(url, json=where("fullName", "=", "A"), headers=reader)
    assert allowed.status_code == 200 and "salary" not in allowed.json()["value"][0]
    nobody = await user(api, "nobody", [])
    assert (await api.post(url, json={}, headers=nobody)).status_code == 403


# --- any body: 200 or 4xx, never 5xx ------------------------------------------------------------

KEYS = st.sampled_from(
    [
        "filterGroup",
        "queryFilters",
        "filterGroups",
        "fieldName",
        "operator",
        "value",
        "valueList",
        "logicalOperator",
        "continueLogicalOperator",
        "sortOptions",
        "isDescending",
        "selectedFields",
        "start",
        "limit",
        "cursor",
        "x",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(
        [
            "age",
            "fullName",
            "customer.fullName",
            "tags",
            "=",
            "in",
            "contains",
            "<",
            "",
            "[0,2]",
            "2024-05-01",
            "1e400",
            "\x00",
            "Id",
            "not in",
            "startswith",
        ]
    )
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=JSON_VALUES)
async def test_any_body_is_answered_without_a_server_error(api: Api, body: Any) -> None:
    await ensure_seeded(api)
    for url in (CUSTOMERS, PURCHASES):
        response = await api.post(f"{url}/query", json=body)
        assert response.status_code in (200, 400, 403, 404), (body, response.text)
        answer = response.json()
        if response.status_code == 200:
            assert isinstance(answer["value"], list)
        else:
            assert set(answer) >= {"error", "code", "traceId"}


async def ensure_seeded(api: Api) -> None:
    """Seed once per database: hypothesis reuses the function's fixture for every example."""
    if not getattr(api, "seeded", False):
        await seed(api)
        api.seeded = True  # type: ignore[attr-defined]


def test_docs_show_the_operator_matrix_the_planner_enforces() -> None:
    text = (Path(__file__).parents[2] / "docs" / "query.md").read_text(encoding="utf-8")
    start = text.index("<!-- operator-matrix")
    table = text[text.index("\n", start) + 1 : text.index("<!-- /operator-matrix -->")].strip()
    assert table == matrix_markdown()


async def test_create_time_and_sorted_fields_are_indexed(api: Api) -> None:
    """Newest-first pages and cursor pages seek an index (docs/benchmarks.md, Query)."""
    ids = await standard_entities(api)
    table = "e_" + ids["Customer"].replace("-", "")
    if api.services.database.name == "sqlite":
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    else:
        sql = "SELECT indexdef FROM pg_indexes WHERE tablename = :t AND schemaname = current_schema()"
    async with api.services.database.read() as connection:
        definitions = [str(row[0]) for row in await connection.fetch(sa.text(sql), {"t": table})]
    assert any('("CreateTime")' in d for d in definitions), definitions
    if api.services.database.name == "postgresql":  # sorts ask for nulls first ascending: so must the index
        assert any("email" in d and "NULLS FIRST" in d for d in definitions), definitions
