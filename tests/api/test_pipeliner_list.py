"""Pipeliner list (`GET /api/v100/rest/spaces/{space}/entities/{Entity}`) scenarios on SQLite and PostgreSQL:
all nineteen filter operators, order-by, first/last/after/before cursors, load-only, expand, errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.helpers import DF, create_entity, field
from tests.api.test_query import role, seed, user
from tests.conftest import Api

pytestmark = pytest.mark.anyio

BASE = "/api/v100/rest/spaces/acme/entities"
EVERYONE = {"Ann", "Bob", "Cy", "Dee", "eve"}


async def listing(
    api: Api, entity: str, params: Any = None, status: int = 200, **extra: Any
) -> dict[str, Any]:
    response = await api.get(f"{BASE}/{entity}", params=params, **extra)
    assert response.status_code == status, response.text
    return dict(response.json())


def names(body: dict[str, Any], key: str = "fullName") -> list[str]:
    return [item[key] for item in body["data"]]


def filtered(name: str, operator: str | None, *values: str) -> list[tuple[str, str]]:
    params = [(f"filter[{name}]", value) for value in values]
    return params + ([(f"filter-op[{name}]", operator)] if operator else [])


OPERATORS: list[tuple[list[tuple[str, str]], set[str]]] = [
    (filtered("fullName", None, "Ann"), {"Ann"}),
    (filtered("fullName", "eq", "Ann", "Bob", "Zed"), {"Ann", "Bob"}),
    (filtered("fullName", "ieq", "ANN"), {"Ann"}),
    (filtered("email", "ieq", "eve@example.com"), {"eve"}),
    (filtered("fullName", "ieq", "ann", "BOB"), {"Ann", "Bob"}),
    (filtered("fullName", "not-eq", "Ann"), {"Bob", "Cy", "Dee", "eve"}),
    (filtered("fullName", "not-eq", "Ann", "Cy"), {"Bob", "Dee", "eve"}),
    (filtered("fullName", "not-ieq", "ann"), {"Bob", "Cy", "Dee", "eve"}),
    (filtered("notes", "contains", "ikes"), {"Ann", "Bob"}),
    (filtered("notes", "contains", "Likes"), {"Ann"}),
    (filtered("notes", "icontains", "LIKES"), {"Ann", "Bob"}),
    (filtered("fullName", "starts", "D"), {"Dee"}),
    (filtered("fullName", "starts", "d"), set()),
    (filtered("fullName", "istarts", "d", "B"), {"Dee", "Bob"}),
    (filtered("email", "ends", ".org"), {"Dee"}),
    (filtered("email", "iends", "E.COM"), {"Ann", "Bob", "eve"}),
    (filtered("age", "null"), {"Cy"}),
    (filtered("age", "not-null"), {"Ann", "Bob", "Dee", "eve"}),
    (filtered("notes", "empty"), {"Cy", "Dee", "eve"}),
    (filtered("notes", "not-empty"), {"Ann", "Bob"}),
    (filtered("age", "empty"), {"Cy"}),
    (filtered("age", "gt", "30"), {"Ann", "Dee", "eve"}),
    (filtered("age", "gte", "41"), {"Ann", "Dee", "eve"}),
    (filtered("age", "lt", "41"), {"Bob"}),
    (filtered("age", "lte", "25"), {"Bob"}),
    (filtered("age", "between", "25,41"), {"Ann", "Bob", "Dee"}),
    (filtered("age", "between", "26", "60"), {"Ann", "Dee", "eve"}),
    (filtered("birthday", "between", "1983-01-01,1990-01-01"), {"Ann", "Dee"}),
    (filtered("lastSeen", "gt", "2024-05-01 12:00:00+00:00"), {"Ann", "Bob", "Dee"}),
    (filtered("status", None, "0", "2"), {"Bob", "Dee"}),
    (filtered("revision", None, "1"), EVERYONE),
    (filtered("created", "gt", "2000-01-01"), EVERYONE),
    (filtered("modified", "lt", "2000-01-01"), set()),
    ([*filtered("age", "gte", "41"), *filtered("active", None, "true")], {"Ann", "Dee"}),
    ([("filter[fullName][]", "Ann"), ("filter[fullName][]", "Cy")], {"Ann", "Cy"}),
]


async def test_all_nineteen_operators(api: Api) -> None:
    await seed(api)
    for params, expected in OPERATORS:
        body = await listing(api, "Customers", params)
        assert set(names(body)) == expected, params
        assert body["total"] == len(expected) and body["success"] is True


async def test_system_names_relationships_and_dot_paths(api: Api) -> None:
    ids = await seed(api)
    assert names(await listing(api, "Customers", {"filter[id]": ids["Bob"]})) == ["Bob"]
    by_relation = await listing(api, "Purchases", {"filter[customer_id]": ids["Ann"]})
    assert names(by_relation, "title") == ["P1"] and by_relation["data"][0]["customer_id"] == ids["Ann"]
    dotted = await listing(
        api, "Purchases", {"filter[customer.fullName]": "ann", "filter-op[customer.fullName]": "ieq"}
    )
    assert names(dotted, "title") == ["P1"]
    no_owner = await listing(api, "Purchases", {"filter[customer_id]": "", "filter-op[customer_id]": "null"})
    assert names(no_owner, "title") == ["P3"]
    ordered = await listing(api, "Purchases", {"order-by": "-customer.fullName"})
    assert names(ordered, "title") == ["P2", "P1", "P3"]
    singular = await listing(api, "Customer", {"filter[fullName]": "Cy"})
    assert names(singular) == ["Cy"]


async def test_envelope_order_and_projection(api: Api) -> None:
    ids = await seed(api)
    body = await listing(api, "Customers", {"order-by": "-age,fullName", "first": "2"})
    assert set(body) == {"success", "total", "page_info", "data"}
    assert names(body) == ["eve", "Ann"] and body["total"] == 5
    info = body["page_info"]
    assert info["has_next_page"] is True and info["has_previous_page"] is False
    assert isinstance(info["start_cursor"], str) and isinstance(info["end_cursor"], str)
    item = body["data"][0]
    assert {"id", "created", "modified", "revision"} <= set(item) and item["revision"] == 1
    assert item["created"].endswith("+00:00") and " " in item["created"]
    projected = await listing(api, "Customers", {"load-only": "fullName,age", "filter[fullName]": "Ann"})
    assert projected["data"] == [{"id": ids["Ann"], "fullName": "Ann", "age": 41}]
    expanded = await listing(
        api,
        "Purchases",
        {"expand": "customer", "filter[title]": "P1", "load-only": "title,customer.fullName"},
    )
    assert expanded["data"] == [
        {
            "id": ids["P1"],
            "title": "P1",
            "customer_id": ids["Ann"],
            "customer": {"id": ids["Ann"], "fullName": "Ann"},
        }
    ]
    unexpanded = await listing(api, "Purchases", {"filter[title]": "P2"})
    assert unexpanded["data"][0]["customer_id"] == ids["Bob"] and "customer" not in unexpanded["data"][0]
    empty = await listing(api, "Customers", {"filter[fullName]": "Nobody"})
    assert empty["data"] == [] and empty["total"] == 0
    assert empty["page_info"] == {
        "start_cursor": None,
        "end_cursor": None,
        "has_next_page": False,
        "has_previous_page": False,
    }


async def many(api: Api, count: int) -> None:
    await create_entity(api, "Item", [field("num", "INT"), field("label")])
    rows = [{"num": n % 7, "label": f"L{n:03d}"} for n in range(count)]
    response = await api.post(f"{DF}/EntityService/Item/insert-batch", json=rows)
    assert response.status_code == 200, response.text


async def test_first_default_max_and_cursors_both_ways(api: Api) -> None:
    await many(api, 45)
    default = await listing(api, "Items")
    assert len(default["data"]) == 30 and default["total"] == 45
    order = {"order-by": "-num,label"}
    expected = [r for r in sorted(((n % 7, f"L{n:03d}") for n in range(45)), key=lambda r: (-r[0], r[1]))]
    labels = [label for _, label in expected]
    forward: list[str] = []
    page = await listing(api, "Items", {**order, "first": "10"})
    while True:
        forward += names(page, "label")
        assert page["total"] == 45
        if not page["page_info"]["has_next_page"]:
            break
        assert page["page_info"]["has_previous_page"] is (len(forward) > 10)
        page = await listing(api, "Items", {**order, "first": "10", "after": page["page_info"]["end_cursor"]})
    assert forward == labels
    backward: list[str] = []
    page = await listing(api, "Items", {**order, "last": "10"})
    while True:
        backward = names(page, "label") + backward
        assert page["page_info"]["has_next_page"] is (len(backward) > 10)
        if not page["page_info"]["has_previous_page"]:
            break
        page = await listing(
            api, "Items", {**order, "last": "10", "before": page["page_info"]["start_cursor"]}
        )
    assert backward == labels
    window = await listing(api, "Items", {**order, "first": "10", "last": "3"})
    assert names(window, "label") == labels[7:10] and window["page_info"]["has_previous_page"] is True
    hundred = await listing(api, "Items", {"first": "100"})
    assert len(hundred["data"]) == 45


PARAMETER_ERRORS: list[tuple[dict[str, str], list[str]]] = [
    ({"first": "101"}, ["first", "100"]),
    ({"first": "0"}, ["first"]),
    ({"last": "x"}, ["last"]),
    ({"filter[age]": "1", "filter-op[age]": "like"}, ["like", "age"]),
    ({"filter[age]": "x", "filter-op[age]": "gt"}, ["age"]),
    ({"filter[fullName]": "a", "filter-op[fullName]": "gt"}, ["fullName", "'>'"]),
    ({"filter[age]": "1,2,3", "filter-op[age]": "between"}, ["between", "age"]),
    ({"filter-op[age]": "gt"}, ["filter[age]"]),
    ({"filter[nope]": "1"}, ["nope"]),
    ({"order-by": "tags"}, ["tags"]),
    ({"load-only": "nope"}, ["nope"]),
    ({"expand": "fullName"}, ["fullName"]),
    ({"after": "garbage"}, ["cursor"]),
    ({"after": "garbage", "last": "3"}, ["'after'", "'first'"]),
    ({"before": "garbage", "first": "3"}, ["'before'", "'last'"]),
]


async def test_parameter_errors_are_pipeliner_errors(api: Api) -> None:
    await seed(api)
    for params, words in PARAMETER_ERRORS:
        body = await listing(api, "Customers", params, 400)
        assert body["success"] is False and body["http_status"] == 400, params
        assert body["code"] == 117 and body["name"] == "ERROR_PARAMETER_INVALID", params
        assert all(word in body["message"] for word in words), (params, body["message"])
    gt_twice = await listing(
        api, "Customers", [("filter[age]", "1"), ("filter[age]", "2"), ("filter-op[age]", "gt")], 400
    )
    assert "one value" in gt_twice["message"]
    other_order = await listing(api, "Customers", {"order-by": "age", "first": "1"})
    cursor = other_order["page_info"]["end_cursor"]
    assert (await listing(api, "Customers", {"order-by": "-age", "after": cursor}, 400))["code"] == 117
    both = {"after": cursor, "before": cursor, "order-by": "age"}
    assert "not both" in (await listing(api, "Customers", both, 400))["message"]
    missing = await listing(api, "Nothings", None, 404)
    assert missing["success"] is False


async def test_own_records_only_and_hidden_fields(api: Api) -> None:
    await seed(api)
    await create_entity(api, "Staff", [field("fullName"), field("salary", "INT", isRbacEnabled=True)])
    await role(
        api,
        {
            "name": "Own",
            "rights": ["view_schema"],
            "entities": {
                "Customer": {"actions": ["read", "create"], "ownOnly": ["read"]},
                "Staff": {"actions": ["read"]},
            },
        },
    )
    ann = await user(api, "ann", ["Own"])
    await api.post(f"{DF}/EntityService/Customer/insert", json={"fullName": "Ann's"}, headers=ann)
    mine = await listing(api, "Customers", {"first": "1"}, headers=ann)
    assert mine["total"] == 1 and names(mine) == ["Ann's"] and not mine["page_info"]["has_next_page"]
    hidden = await listing(api, "Staff", {"filter[salary]": "1", "filter-op[salary]": "gt"}, 403, headers=ann)
    assert hidden["success"] is False and "salary" not in hidden["message"]
    await listing(api, "Purchases", None, 403, headers=ann)


PARAM_NAMES = st.sampled_from(
    [
        "filter[fullName]",
        "filter[age]",
        "filter[customer.fullName]",
        "filter[tags]",
        "filter[nope]",
        "filter[id]",
        "filter-op[fullName]",
        "filter-op[age]",
        "filter-op[tags]",
        "order-by",
        "first",
        "last",
        "after",
        "before",
        "load-only",
        "expand",
        "filter[]",
        "filter-op[]",
        "include-deleted",
    ]
)
PARAM_VALUES = st.sampled_from(
    [
        "eq",
        "ieq",
        "not-eq",
        "between",
        "null",
        "empty",
        "gt",
        "icontains",
        "like",
        "",
        "1",
        "0",
        "101",
        "-age",
        "age,-fullName",
        "Ann",
        "1,2",
        "[1]",
        "WyJ4Il0",
        "customer",
        "fullName,customer.fullName",
        "2024-05-01",
    ]
) | st.text(st.characters(exclude_categories=("Cs",)), max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=6))
async def test_any_parameters_are_answered_without_a_server_error(
    api: Api, params: list[tuple[str, str]]
) -> None:
    if not getattr(api, "seeded", False):
        await seed(api)
        api.seeded = True  # type: ignore[attr-defined]
    for entity in ("Customers", "Purchases"):
        response = await api.get(f"{BASE}/{entity}", params=params)
        assert response.status_code in (200, 400, 403, 404), (params, response.text)
        assert response.json()["success"] is (response.status_code == 200)
    odata = dict(params) | {"$filter": " ".join(value for _, value in params)}
    response = await api.get(f"{DF}/EntityService/Customer/read", params=odata)
    assert response.status_code in (200, 400), (odata, response.text)
