"""`POST …/v1/query/execute` (docs/sql.md) through HTTP on both backends: results, the dialect, what is
refused (each with its code), permissions (unknown entities, hidden fields, own records), and the limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from recordbase.app import create_app
from recordbase.settings import Settings
from tests.api.helpers import DF, create_choice_set, create_entity, field
from tests.conftest import Api
from tests.security.helpers import ADMIN, bearer, create_user, password_token

pytestmark = pytest.mark.anyio

SQL = f"{DF}/v1/query/execute"
CUSTOMER = f"{DF}/EntityService/Customer"
ROWS = [
    {"fullName": "Ann", "age": 31, "balance": 12.5, "active": True, "birthday": "1993-04-01", "status": 0},
    {"fullName": "Bob", "age": 45, "balance": 5, "active": False, "status": 1},
    {"fullName": "Cy", "age": 31},
    {"fullName": "Dee", "age": 60, "balance": 40.25, "active": True, "status": 1},
]


async def setup(api: Api) -> dict[str, str]:
    status = await create_choice_set(api, "Stage", ["Open", "Won"])
    await create_entity(
        api,
        "Customer",
        [
            field("fullName"),
            field("age", "INT"),
            field("balance", "DECIMAL", sql_type={"decimalPrecision": 2}),
            field("active", "BIT"),
            field("birthday", "DATE"),
            field("status", "INT", "ChoiceSetSingle", choiceSetId=status),
            field("secret", isRbacEnabled=True),
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
        created = await api.post(f"{CUSTOMER}/insert", json={**row, "secret": f"s-{row['fullName']}"})
        assert created.status_code == 200, created.text
        ids[row["fullName"]] = created.json()["Id"]
    for title, total, owner in [("p1", 10, "Ann"), ("p2", 20, "Ann"), ("p3", 5, "Bob")]:
        body = {"title": title, "total": total, "customer": ids[owner]}
        assert (await api.post(f"{DF}/EntityService/Purchase/insert", json=body)).status_code == 200
    return ids


async def run(api: Api, sql: str, headers: dict[str, str] | None = None, **options: bool) -> httpx.Response:
    body: dict[str, Any] = {"query": sql}
    if options:
        body["queryOptions"] = options
    return await api.post(SQL, json=body, headers=headers or {})


async def results(api: Api, sql: str, headers: dict[str, str] | None = None, **options: bool) -> list[Any]:
    response = await run(api, sql, headers, **options)
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


async def test_select_filter_order_limit_with_typed_values(api: Api) -> None:
    await setup(api)
    rows = await results(
        api,
        "SELECT fullName, age, balance, active, birthday FROM Customer WHERE age < 50 "
        "ORDER BY fullName LIMIT 2",
    )
    assert rows == [
        {"fullName": "Ann", "age": 31, "balance": 12.5, "active": True, "birthday": "1993-04-01"},
        {"fullName": "Bob", "age": 45, "balance": 5, "active": False, "birthday": None},
    ]
    offset = await results(
        api, "select FULLNAME as Name from customer order by age desc, fullname limit 2 offset 1"
    )
    assert offset == [{"Name": "Bob"}, {"Name": "Ann"}]


async def test_aggregates_group_by_join_subquery_cte(api: Api) -> None:
    await setup(api)
    grouped = await results(
        api,
        "SELECT age, COUNT(Id) AS n, MIN(fullName) AS first FROM Customer GROUP BY age HAVING COUNT(Id) > 0 "
        "ORDER BY age",
    )
    assert grouped == [
        {"age": 31, "n": 2, "first": "Ann"},
        {"age": 45, "n": 1, "first": "Bob"},
        {"age": 60, "n": 1, "first": "Dee"},
    ]
    totals = await results(
        api,
        "SELECT c.fullName, SUM(p.total) AS spent, COUNT(DISTINCT p.title) AS orders FROM Customer c "
        "JOIN Purchase p ON p.customer = c.Id GROUP BY c.fullName ORDER BY spent DESC",
        relationshipsAsScalar=True,
    )
    assert totals == [
        {"fullName": "Ann", "spent": 30, "orders": 2},
        {"fullName": "Bob", "spent": 5, "orders": 1},
    ]
    nested = await results(
        api,
        "WITH rich AS (SELECT Id, fullName FROM Customer WHERE balance > 10) "
        "SELECT fullName FROM rich WHERE Id IN (SELECT customer FROM Purchase) ORDER BY 1",
    )
    assert nested == [{"fullName": "Ann"}]
    union = await results(
        api,
        "SELECT title AS x FROM Purchase WHERE total > 15 UNION SELECT fullName FROM Customer "
        "WHERE age = 60 ORDER BY 1",
    )
    assert union == [{"x": "Dee"}, {"x": "p2"}]
    average = await results(api, "SELECT AVG(age) AS a, MAX(balance) AS m, SUM(balance) AS s FROM Customer")
    assert average == [{"a": 41.75, "m": 40.25, "s": 57.75}]


async def test_relationship_and_choice_set_options(api: Api) -> None:
    ids = await setup(api)
    plain = await results(api, "SELECT customer, title FROM Purchase WHERE title = 'p3'")
    assert plain == [{"customer": {"Id": ids["Bob"]}, "title": "p3"}]
    scalar = await results(
        api, "SELECT customer FROM Purchase WHERE title = 'p3'", relationshipsAsScalar=True
    )
    assert scalar == [{"customer": ids["Bob"]}]
    numbers = await results(api, "SELECT status FROM Customer WHERE fullName = 'Bob'")
    assert numbers == [{"status": 1}]
    resolved = await results(
        api, "SELECT status FROM Customer WHERE fullName = 'Bob'", resolveChoiceSets=True
    )
    assert resolved == [{"status": {"NumberId": 1, "Name": "Won", "DisplayName": "Won"}}]


@pytest.mark.parametrize(
    ("sql", "code", "named"),
    [
        ("SELECT 1; SELECT 2", "SQL_VALIDATION", "one SQL statement"),
        ("DELETE FROM Customer", "SQL_VALIDATION", "DELETE"),
        ("INSERT INTO Customer (fullName) VALUES ('x')", "SQL_VALIDATION", "INSERT"),
        ("UPDATE Customer SET fullName = 'x'", "SQL_VALIDATION", "UPDATE"),
        ("DROP TABLE Customer", "SQL_VALIDATION", "DROP"),
        ("PRAGMA table_info(Customer)", "SQL_VALIDATION", "PRAGMA"),
        ("ATTACH DATABASE '/tmp/x' AS x", "SQL_VALIDATION", "ATTACH"),
        ("WITH x AS (DELETE FROM Customer RETURNING Id) SELECT Id FROM x", "SQL_VALIDATION", "write"),
        ("SELECT fullName INTO copy FROM Customer", "SQL_VALIDATION", "INTO"),
        ("SELECT fullName FROM Customer FOR UPDATE", "SQL_VALIDATION", "lock"),
        ("SELECT fullName FROM Customer WHERE age = ?", "SQL_VALIDATION", "parameter"),
        ("SELECT pg_read_file('/etc/passwd')", "SQL_VALIDATION", "PG_READ_FILE"),
        ("SELECT load_extension('x')", "SQL_VALIDATION", "LOAD_EXTENSION"),
        ("SELECT randomblob(100000000)", "SQL_VALIDATION", "RANDOMBLOB"),
        ("SELECT CAST('pg_class' AS regclass)", "SQL_VALIDATION", "regclass"),
        ("SELECT name FROM sqlite_master", "UNKNOWN_ENTITY", "sqlite_master"),
        ("SELECT relname FROM pg_class", "UNKNOWN_ENTITY", "pg_class"),
        ("SELECT relname FROM pg_catalog.pg_class", "UNKNOWN_ENTITY", "pg_catalog.pg_class"),
        ("SELECT table_name FROM information_schema.tables", "UNKNOWN_ENTITY", "information_schema"),
        ("SELECT token_hash FROM rb_tokens", "UNKNOWN_ENTITY", "rb_tokens"),
        ("SELECT * FROM main.Customer", "UNKNOWN_ENTITY", "main.Customer"),
        ("SELECT * FROM pragma_table_info('rb_tokens')", "SQL_VALIDATION", "PRAGMA_TABLE_INFO"),
        ("SELECT nope FROM Nowhere", "UNKNOWN_ENTITY", "Nowhere"),
        ("SELECT FROM WHERE", "SQL_PARSING", "parse"),
        ("SELECT fullName FROM Customer LIMIT age", "SQL_VALIDATION", "LIMIT"),
        ("", "SQL_VALIDATION", "non-empty"),
    ],
)
async def test_refused(api: Api, sql: str, code: str, named: str) -> None:
    await setup(api)
    response = await run(api, sql)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == code and named.lower() in body["error"].lower(), body
    assert (await api.get(f"{CUSTOMER}/read")).json()["totalRecordCount"] == 4


async def test_physical_table_names_are_unknown(api: Api) -> None:
    await setup(api)
    entity_id = (await api.get(f"{DF}/Entity/Customer/metadata")).json()["id"]
    physical = "e_" + entity_id.replace("-", "")
    response = await run(api, f"SELECT fullName FROM {physical}")
    assert response.status_code == 400 and response.json()["code"] == "UNKNOWN_ENTITY"
    cte = await run(api, f"WITH {physical} AS (SELECT 1 AS x) SELECT x FROM {physical}")
    assert cte.status_code == 200 and cte.json()["results"] == [{"x": 1}]


async def test_unknown_column_and_bad_body(api: Api) -> None:
    await setup(api)
    unknown = await run(api, "SELECT nope FROM Customer")
    assert unknown.status_code == 400 and unknown.json()["code"] == "EXECUTION_ERROR"
    for body in ([], {"query": 5}, {"query": "SELECT 1", "queryOptions": {"relationshipsAsScalar": "yes"}}):
        response = await api.post(SQL, json=body)
        assert response.status_code == 400, body
    unsupported = await api.post(SQL, json={"query": "SELECT 1", "queryOptions": {"fancy": True}})
    assert unsupported.status_code == 400 and unsupported.json()["code"] == "UNSUPPORTED"
    override = {
        "entityRoutings": [{"entityName": "Customer", "folderId": "f", "overrideEntityName": "Other"}]
    }
    routed = await api.post(SQL, json={"query": "SELECT 1", "routingContext": override})
    assert routed.status_code == 400 and routed.json()["code"] == "UNSUPPORTED"
    folder = {"entityRoutings": [{"entityName": "Customer", "folderId": "f"}]}
    plain = await api.post(
        SQL, json={"query": "SELECT COUNT(Id) AS n FROM Customer", "routingContext": folder}
    )
    assert plain.json() == {"results": [{"n": 4}]}


async def user(
    api: Api, login: str, role: dict[str, Any] | None, builtin: list[str] | None = None
) -> dict[str, str]:
    roles = list(builtin or [])
    if role is not None:
        created = await api.post(f"{ADMIN}/roles", json=role)
        assert created.status_code == 201, created.text
        roles.append(role["name"])
    await create_user(api, login, roles)
    return bearer((await password_token(api, login))["access_token"])


async def test_permissions_as_the_query_engine_applies_them(api: Api) -> None:
    await setup(api)
    reader = await user(api, "reader", None, ["Data Reader"])
    assert await results(api, "SELECT COUNT(Id) AS n FROM Customer", reader) == [{"n": 4}]
    hidden = await run(api, "SELECT secret FROM Customer", reader)
    assert hidden.status_code == 400 and hidden.json()["code"] == "EXECUTION_ERROR"
    starred = await results(api, "SELECT * FROM Customer WHERE fullName = 'Ann'", reader)
    assert "secret" not in starred[0] and starred[0]["fullName"] == "Ann"
    assert (await results(api, "SELECT secret FROM Customer WHERE fullName = 'Ann'"))[0]["secret"] == "s-Ann"
    only_purchases = {"name": "Buyer", "entities": {"Purchase": {"actions": ["read"]}}}
    buyer = await user(api, "buyer", only_purchases)
    unknown = await run(api, "SELECT p.title FROM Purchase p JOIN Customer c ON c.Id = p.customer", buyer)
    assert unknown.status_code == 400 and unknown.json()["code"] == "UNKNOWN_ENTITY"
    nobody = await user(api, "nobody", None)
    assert (await run(api, "SELECT COUNT(Id) AS n FROM Customer", nobody)).status_code == 403


async def test_own_records_cannot_be_escaped(api: Api) -> None:
    await setup(api)
    own = {
        "name": "Own",
        "entities": {
            "Customer": {"actions": ["read", "create"], "ownOnly": ["read"]},
            "Purchase": {"actions": ["read"]},
        },
    }
    ann = await user(api, "ann", own)
    mine = await api.post(f"{CUSTOMER}/insert", json={"fullName": "Mine", "age": 1}, headers=ann)
    assert mine.status_code == 200
    for sql in [
        "SELECT fullName FROM Customer",
        "SELECT fullName FROM Customer WHERE 1 = 1 OR CreatedBy IS NOT NULL",
        "SELECT c.fullName FROM Purchase p LEFT JOIN Customer c ON c.Id = p.customer OR 1 = 1",
        "WITH everyone AS (SELECT * FROM Customer) SELECT fullName FROM everyone",
        "SELECT (SELECT MAX(fullName) FROM Customer) AS fullName",
        "SELECT fullName FROM Customer UNION SELECT fullName FROM customer AS c2",
    ]:
        names = {row["fullName"] for row in await results(api, sql, ann)}
        assert names <= {"Mine", None}, (sql, names)
    counted = await results(api, "SELECT COUNT(Id) AS n, SUM(age) AS total FROM Customer", ann)
    assert counted == [{"n": 1, "total": 1}]
    error = await run(api, "SELECT fullName FROM Customer WHERE CAST(fullName AS INT) = 1", ann)
    assert "Ann" not in error.text and "Bob" not in error.text


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[Api]:
    """An app whose SQL limits are tiny: 3 rows, 0.3 s."""
    app = create_app(settings.model_copy(update={"sql_max_rows": 3, "sql_timeout": 0.3}))
    async with app.router.lifespan_context(app):
        services = app.state.services
        token = await services.tokens.create_admin_token("tests")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            yield Api(client, services, token)


async def test_row_and_time_limits(limited: Api) -> None:
    await setup(limited)
    too_many = await run(limited, "SELECT fullName FROM Customer")
    assert too_many.status_code == 400 and too_many.json()["code"] == "RESULT_TOO_LARGE"
    assert len(await results(limited, "SELECT fullName FROM Customer LIMIT 3")) == 3
    assert len(await results(limited, "SELECT fullName FROM Customer LIMIT 100 OFFSET 2")) == 2
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(i) AS c FROM n"
    stopped = await run(limited, endless)
    assert stopped.status_code == 400 and stopped.json()["code"] == "EXECUTION_TIMEOUT", stopped.text
    assert await results(limited, "SELECT COUNT(Id) AS n FROM Customer") == [{"n": 4}]
