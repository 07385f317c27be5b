"""Aggregates, group by, binnings and joins in the UiPath query body (docs/query.md, Aggregates), through
HTTP on both backends: results, filters, paging, the v2 route, permissions and refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.helpers import DF, create_entity, field
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

CUSTOMER = f"{DF}/EntityService/Customer"
ROWS = [
    {"fullName": "Ann", "age": 31, "balance": 12.5, "region": "N", "birthday": "1990-04-01"},
    {"fullName": "Bob", "age": 45, "balance": 5, "region": "S", "birthday": "1990-07-12"},
    {"fullName": "Cy", "age": 38, "region": "N", "birthday": "1985-01-30"},
    {"fullName": "Dee", "age": 60, "balance": 40.25, "region": "S"},
    {"fullName": "Eve", "age": -3, "balance": 1, "region": "N"},
]


async def setup(api: Api) -> dict[str, str]:
    await create_entity(
        api,
        "Customer",
        [
            field("fullName"),
            field("age", "INT"),
            field("balance", "DECIMAL", sql_type={"decimalPrecision": 2}),
            field("region"),
            field("birthday", "DATE"),
            field("secret", "INT", isRbacEnabled=True),
        ],
    )
    await create_entity(
        api,
        "Purchase",
        [
            field("title"),
            field("total", "INT"),
            field("customer", "UNIQUEIDENTIFIER", "Relationship", referenceEntityName="Customer"),
        ],
    )
    ids = {}
    for row in ROWS:
        created = await api.post(f"{CUSTOMER}/insert", json={**row, "secret": 7})
        assert created.status_code == 200, created.text
        ids[row["fullName"]] = created.json()["Id"]
    for title, total, owner in [("p1", 10, "Ann"), ("p2", 20, "Ann"), ("p3", 5, "Bob"), ("p4", 1, None)]:
        body = {"title": title, "total": total, "customer": ids[owner] if owner else None}
        assert (await api.post(f"{DF}/EntityService/Purchase/insert", json=body)).status_code == 200
    return ids


async def query(api: Api, body: dict[str, Any], path: str = f"{CUSTOMER}/query", **kwargs: Any) -> Any:
    response = await api.post(path, json=body, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def test_group_by_with_every_function_and_a_filter(api: Api) -> None:
    await setup(api)
    body = {
        "groupBy": ["region"],
        "aggregates": [
            {"function": "COUNT", "field": "Id", "alias": "n"},
            {"function": "SUM", "field": "balance", "alias": "total"},
            {"function": "AVG", "field": "age", "alias": "meanAge"},
            {"function": "MIN", "field": "fullName", "alias": "first"},
            {"function": "MAX", "field": "birthday", "alias": "latest"},
            {"function": "COUNT", "field": "balance", "alias": "withBalance", "distinct": True},
        ],
        "filterGroup": {"queryFilters": [{"fieldName": "age", "operator": ">", "value": "0"}]},
    }
    found = await query(api, body)
    assert found["totalRecordCount"] == 2 and not found["hasNextPage"]
    assert found["value"] == [
        {"region": "N", "n": 2, "total": 12.5, "meanAge": 34.5, "first": "Ann", "latest": "1990-04-01",
         "withBalance": 1},
        {"region": "S", "n": 2, "total": 45.25, "meanAge": 52.5, "first": "Bob", "latest": "1990-07-12",
         "withBalance": 2},
    ]  # fmt: skip
    overall = await query(api, {"aggregates": [{"function": "COUNT", "field": "*"}]})
    assert overall["value"] == [{"COUNT_all": 5}]


async def test_groups_are_paged(api: Api) -> None:
    await setup(api)
    body = {
        "groupBy": ["age"],
        "aggregates": [{"function": "COUNT", "field": "Id", "alias": "n"}],
        "limit": 2,
    }
    first = await query(api, {**body, "start": 0})
    assert [row["age"] for row in first["value"]] == [-3, 31] and first["hasNextPage"]
    assert first["totalRecordCount"] == 5
    last = await query(api, {**body, "start": 4})
    assert [row["age"] for row in last["value"]] == [60] and not last["hasNextPage"]


async def test_binnings_on_the_v2_route(api: Api) -> None:
    ids = await setup(api)
    v2 = f"{DF}/v2/EntityService/entity/{ids and await entity_id(api)}/query"
    numeric = await query(
        api,
        {"binnings": [{"fieldName": "age", "binSize": 20, "aggregateFunction": "COUNT", "alias": "people"}]},
        v2,
    )
    assert numeric["value"] == [
        {"age": -20, "people": 1},
        {"age": 20, "people": 2},
        {"age": 40, "people": 1},
        {"age": 60, "people": 1},
    ]
    years = await query(
        api,
        {
            "binnings": [{"fieldName": "birthday", "datePart": "month", "binName": "month"}],
            "aggregates": [{"function": "COUNT", "field": "Id", "alias": "n"}],
        },
        v2,
    )
    assert years["value"] == [
        {"month": None, "n": 2},
        {"month": "1985-01", "n": 1},
        {"month": "1990-04", "n": 1},
        {"month": "1990-07", "n": 1},
    ]


async def entity_id(api: Api, name: str = "Customer") -> str:
    return str((await api.get(f"{DF}/Entity/{name}/metadata")).json()["id"])


async def test_joins_along_a_relationship(api: Api) -> None:
    await setup(api)
    join = {"entityName": "Purchase", "joinFieldName": "customer", "relatedEntityName": "Customer",
            "relatedFieldName": "Id"}  # fmt: skip
    path = f"{DF}/EntityService/Purchase/query"
    rows = await query(
        api,
        {"joins": [{**join, "joinType": "LeftJoin"}], "selectedFields": ["title", "Customer.fullName"]},
        path,
    )
    assert sorted((r["title"], r["Customer.fullName"]) for r in rows["value"]) == [
        ("p1", "Ann"), ("p2", "Ann"), ("p3", "Bob"), ("p4", None),
    ]  # fmt: skip
    grouped = await query(
        api,
        {
            "joins": [{**join, "joinType": "InnerJoin"}],
            "groupBy": ["Customer.region"],
            "aggregates": [{"function": "SUM", "field": "total", "alias": "spent"}],
        },
        path,
    )
    assert grouped["value"] == [{"Customer.region": "N", "spent": 30}, {"Customer.region": "S", "spent": 5}]
    other = {**join, "relatedFieldName": "fullName"}
    refused = await api.post(path, json={"joins": [other]})
    assert refused.status_code == 400 and refused.json()["code"] == "UNSUPPORTED"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"aggregates": [{"function": "SUM", "field": "fullName"}]}, "INVALID_QUERY"),
        ({"aggregates": [{"function": "MEDIAN", "field": "age"}]}, "INVALID_QUERY"),
        ({"aggregates": [{"function": "COUNT", "field": "nope"}]}, "INVALID_QUERY"),
        ({"groupBy": ["nope"]}, "INVALID_QUERY"),
        ({"binnings": [{"fieldName": "age"}]}, "INVALID_QUERY"),
        ({"binnings": [{"fieldName": "fullName", "binSize": 2}]}, "INVALID_QUERY"),
        ({"binnings": [{"fieldName": "age", "datePart": "week"}]}, "INVALID_QUERY"),
        ({"groupBy": "region"}, "INVALID_QUERY"),
        ({"expansions": [{"expandedField": "x"}]}, "UNSUPPORTED"),
        ({"havingFilter": {"queryFilters": []}}, "UNSUPPORTED"),
    ],
)
async def test_refused(api: Api, body: dict[str, Any], code: str) -> None:
    await setup(api)
    response = await api.post(f"{CUSTOMER}/query", json=body)
    assert response.status_code == 400 and response.json()["code"] == code, response.text


async def test_permissions(api: Api) -> None:
    await setup(api)
    await create_user(api, "reader", ["Data Reader"])
    reader = bearer((await password_token(api, "reader"))["access_token"])
    for body in (
        {"groupBy": ["secret"]},
        {"aggregates": [{"function": "SUM", "field": "secret"}]},
        {"binnings": [{"fieldName": "secret", "binSize": 5}]},
    ):
        response = await api.post(f"{CUSTOMER}/query", json=body, headers=reader)
        assert response.status_code == 403 and "secret" not in response.text, body
    role = {"name": "Own", "entities": {"Customer": {"actions": ["read", "create"], "ownOnly": ["read"]},
                                        "Purchase": {"actions": ["read"]}}}  # fmt: skip
    assert (await api.post(f"{ADMIN}/roles", json=role)).status_code == 201
    await create_user(api, "owner", ["Own"])
    owner = bearer((await password_token(api, "owner"))["access_token"])
    assert (
        await api.post(f"{CUSTOMER}/insert", json={"fullName": "Mine", "age": 1}, headers=owner)
    ).status_code == 200
    measures = [
        {"function": "COUNT", "field": "Id", "alias": "n"},
        {"function": "SUM", "field": "age", "alias": "s"},
    ]
    counted = await query(api, {"aggregates": measures}, headers=owner)
    assert counted["value"] == [{"n": 1, "s": 1}]
    through = await api.post(
        f"{DF}/EntityService/Purchase/query", json={"groupBy": ["customer.region"]}, headers=owner
    )
    assert through.status_code == 403
