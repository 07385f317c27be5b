"""Compiled query plans run on a real SQLite file and a real PostgreSQL schema, checked against the
reference evaluator (core/query/evaluate.py): same ids, same order, same pages, same counts.

PostgreSQL comes from RECORDBASE_TEST_POSTGRES_URL (default: 127.0.0.1:5432, database `test`);
each test gets its own schema, dropped afterwards. Under CI=true an unreachable server fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.schema import CreateTable

from recordbase.core.fields.temporal import format_datetime
from recordbase.core.query import (
    Condition,
    Group,
    Logic,
    Operator,
    Plan,
    Query,
    Sort,
    cursor_of,
    decode_cursor,
    encode_cursor,
    parse_query,
    plan_query,
    run,
)
from recordbase.core.query.matrix import ALLOWED, sortable
from recordbase.core.query.plan import resolve
from recordbase.core.schema import ChoiceSet, ChoiceValue, Entity, Field, FieldType, Schema
from recordbase.storage import codecs
from recordbase.storage.postgres import PostgresDatabase
from recordbase.storage.query import compile_query
from recordbase.storage.records import EntityShape
from recordbase.storage.sql import prepare
from recordbase.storage.sqlite import SQLiteDatabase
from recordbase.storage.tables import REVISION, SchemaTables

pytestmark = pytest.mark.anyio

POSTGRES_URL = os.environ.get("RECORDBASE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
USER = "00000000-0000-0000-0000-00000000beef"
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

REGION = Entity(
    id="00000000-0000-0000-0000-0000000000a1",
    name="Region",
    fields=(Field(id="r1", name="Name", type=FieldType.TEXT),),
)
CUSTOMER = Entity(
    id="00000000-0000-0000-0000-0000000000a2",
    name="Customer",
    fields=(
        Field(id="c1", name="Country", type=FieldType.TEXT),
        Field(id="c2", name="Region", type=FieldType.RELATIONSHIP, reference_entity="Region"),
    ),
)
ORDER = Entity(
    id="00000000-0000-0000-0000-0000000000a3",
    name="Order",
    fields=(
        Field(id="o1", name="Title", type=FieldType.TEXT, max_length=200),
        Field(id="o2", name="Qty", type=FieldType.INTEGER),
        Field(id="o3", name="Price", type=FieldType.DECIMAL, decimal_places=2),
        Field(id="o4", name="Paid", type=FieldType.BOOLEAN),
        Field(id="o5", name="Due", type=FieldType.DATE),
        Field(id="o6", name="At", type=FieldType.DATETIME),
        Field(id="o7", name="Status", type=FieldType.CHOICE_SET, choice_set_id="cs1"),
        Field(id="o8", name="Tags", type=FieldType.MULTI_CHOICE_SET, choice_set_id="cs1"),
        Field(id="o9", name="Customer", type=FieldType.RELATIONSHIP, reference_entity="Customer"),
        Field(id="o10", name="Doc", type=FieldType.FILE),
        Field(id="o11", name="Ref", type=FieldType.UUID),
        Field(id="o12", name="Notes", type=FieldType.MULTILINE_TEXT),
    ),
)
COLORS = ChoiceSet(
    id="cs1",
    name="Colors",
    values=tuple(ChoiceValue(id=f"v{n}", name=f"c{n}", display_name="", number_id=n) for n in range(12)),
)
SCHEMA = Schema(version=1, entities=(REGION, CUSTOMER, ORDER), choice_sets=(COLORS,))
TABLES = SchemaTables(SCHEMA)


def system(record_id: str, minutes: int = 0) -> dict[str, Any]:
    moment = EPOCH + timedelta(minutes=minutes)
    return {"Id": record_id, "CreatedBy": USER, "CreateTime": moment, "UpdatedBy": USER, "UpdateTime": moment}


REGIONS = [
    {**system("00000000-0000-0000-0000-0000000000e1"), "Name": "EU"},
    {**system("00000000-0000-0000-0000-0000000000e2"), "Name": None},
]
CUSTOMERS = [
    {**system("00000000-0000-0000-0000-0000000000c1"), "Country": "NL", "Region": REGIONS[0]["Id"]},
    {**system("00000000-0000-0000-0000-0000000000c2"), "Country": "nl", "Region": REGIONS[1]["Id"]},
    {**system("00000000-0000-0000-0000-0000000000c3"), "Country": None, "Region": None},
]
RELATED = {r["Id"]: r for r in [*REGIONS, *CUSTOMERS]}


# --- two real databases behind one small interface -------------------------------------------------


class Backend:
    """Runs compiled statements through the raw driver, as the app's storage layer does."""

    name: str
    dialect: sa.engine.Dialect

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        raise NotImplementedError

    async def fetch(self, statement: sa.ClauseElement) -> list[Sequence[Any]]:
        raise NotImplementedError

    async def create_tables(self) -> None:
        for entity in (REGION, CUSTOMER, ORDER):
            await self.execute(str(CreateTable(TABLES.table(entity)).compile(dialect=self.dialect)))

    async def insert(self, entity: Entity, records: Sequence[Mapping[str, Any]]) -> None:
        table = TABLES.table(entity)
        prepared = prepare(
            sa.insert(table).values({c.key: sa.bindparam(c.key) for c in table.columns}), self.dialect
        )
        for record in records:
            await self.execute(prepared.sql, prepared.bind(encode(self.name, entity, record))[1])

    async def ids(self, statement: sa.ClauseElement) -> list[str]:
        return [str(row[0]) for row in await self.fetch(statement)]


class SQLiteBackend(Backend):
    name = "sqlite"
    dialect = SQLiteDatabase.dialect

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        await self.connection.execute(sql, tuple(args))

    async def fetch(self, statement: sa.ClauseElement) -> list[Sequence[Any]]:
        sql, args = prepare(statement, self.dialect).bind()
        return list(await self.connection.execute_fetchall(sql, args))


class PostgresBackend(Backend):
    name = "postgresql"
    dialect = PostgresDatabase.dialect

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> None:
        await self.connection.execute(sql, *args)

    async def fetch(self, statement: sa.ClauseElement) -> list[Sequence[Any]]:
        sql, args = prepare(statement, self.dialect).bind()
        return list(await self.connection.fetch(sql, *args))


def encode(backend: str, entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's core values as the driver takes them (what storage/records.py writes)."""
    stamp = codecs.timestamp_encoder(backend)
    row = {key: record[key] for key in ("Id", "CreatedBy", "UpdatedBy")}
    row |= {"CreateTime": stamp(record["CreateTime"]), "UpdateTime": stamp(record["UpdateTime"]), REVISION: 1}
    for f in entity.fields:
        value = record.get(f.name)
        row[f.name] = None if value is None else codecs.encoder(backend, f)(value)
    return row


async def _postgres(schema: str) -> asyncpg.Connection:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but {POSTGRES_URL} is unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_URL}")
    await connection.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")
    await connection.execute(f'CREATE SCHEMA "{schema}"')
    await connection.execute(f'SET search_path TO "{schema}"')
    return connection


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """A fresh database with the Region, Customer and Order tables and the fixed related records."""
    backend: Backend
    if request.param == "sqlite":
        async with aiosqlite.connect(tmp_path / "query.db", isolation_level=None) as connection:
            backend = SQLiteBackend(connection)
            await seeded(backend)
            yield backend
        return
    schema = "q_" + uuid.uuid4().hex[:16]
    connection = await _postgres(schema)
    try:
        backend = PostgresBackend(connection)
        await seeded(backend)
        yield backend
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


async def seeded(backend: Backend) -> Backend:
    await backend.create_tables()
    await backend.insert(REGION, REGIONS)
    await backend.insert(CUSTOMER, CUSTOMERS)
    return backend


async def replace_orders(db: Backend, records: Sequence[Mapping[str, Any]]) -> None:
    await db.execute(f'DELETE FROM "{TABLES.table(ORDER).name}"')
    await db.insert(ORDER, records)


def order(n: int, **values: Any) -> dict[str, Any]:
    return {**system(f"00000000-0000-0000-0000-{n:012d}", minutes=n), **values}


async def check(db: Backend, plan: Plan, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Run the plan's page and count on the database and assert both equal the reference."""
    expected, total = run(plan, records, RELATED)
    compiled = compile_query(plan, TABLES, db.name)
    assert await db.ids(compiled.rows) == [r["Id"] for r in expected]
    assert (await db.fetch(compiled.count))[0][0] == total
    return [r["Id"] for r in expected]


def query_plan(body: dict[str, Any], level: int = 3) -> Plan:
    return plan_query(parse_query(body), ORDER, SCHEMA, expansion_level=level)


def one(name: str, operator: str, value: str | None = None, **extra: Any) -> Plan:
    condition: dict[str, Any] = {"fieldName": name, "operator": operator, **extra}
    if value is not None:
        condition["value"] = value
    return query_plan({"filterGroup": {"queryFilters": [condition]}, "limit": 1000})


# --- scenarios ------------------------------------------------------------------------------------

TEXTS = ["abc", "ABC", "a_c", "a%c", "a\\c", "xabcx", "", None, "é", "ab"]


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("=", "abc", ["abc"]),
        ("!=", "abc", ["ABC", "a_c", "a%c", "a\\c", "xabcx", "", None, "é", "ab"]),
        ("contains", "b", ["abc", "xabcx", "ab"]),
        ("contains", "_", ["a_c"]),
        ("contains", "%", ["a%c"]),
        ("contains", "\\", ["a\\c"]),
        ("not contains", "b", ["ABC", "a_c", "a%c", "a\\c", "", None, "é"]),
        ("startswith", "a_", ["a_c"]),
        ("startswith", "A", ["ABC"]),
        ("endswith", "%c", ["a%c"]),
        ("endswith", "bc", ["abc"]),
        ("endswith", "", ["abc", "ABC", "a_c", "a%c", "a\\c", "xabcx", "", "é", "ab"]),
        ("contains", "É", []),
    ],
)
async def test_text_matching_is_case_sensitive_and_escapes_wildcards(
    db: Backend, operator: str, value: str, expected: list[str | None]
) -> None:
    records = [order(n, Title=t) for n, t in enumerate(TEXTS)]
    await replace_orders(db, records)
    ids = await check(db, one("Title", operator, value), records)
    assert [TEXTS[int(i[-12:])] for i in ids] == expected


async def test_text_sorts_by_code_point_with_nulls_first(db: Backend) -> None:
    titles = ["b", "B", "a", None, "é", "Z", "😀", "ab"]
    records = [order(n, Title=t) for n, t in enumerate(titles)]
    await replace_orders(db, records)
    plan = query_plan({"sortOptions": [{"fieldName": "Title"}]})
    ids = await check(db, plan, records)
    assert [titles[int(i[-12:])] for i in ids] == [None, "B", "Z", "a", "ab", "b", "é", "😀"]
    plan = query_plan({"sortOptions": [{"fieldName": "Title", "isDescending": True}]})
    ids = await check(db, plan, records)
    assert [titles[int(i[-12:])] for i in ids] == ["😀", "é", "b", "ab", "a", "Z", "B", None]


EVERY_TYPE = [
    order(1, Qty=5, Price=Decimal("10.50"), Paid=True, Due=date(2024, 1, 2), Status=1, Tags=(1, 3, 10)),
    order(2, Qty=-2, Price=Decimal("0.10"), Paid=False, Due=date(2023, 12, 31), Status=0, Tags=()),
    order(3, At=EPOCH + timedelta(milliseconds=1), Tags=(0,), Customer=CUSTOMERS[0]["Id"]),
    order(4, Customer=CUSTOMERS[1]["Id"], Ref="3fa85f64-5717-4562-b3fc-2c963f66afa6", Doc={"Id": "x"}),
    order(5, Tags=(10, 11)),
]


@pytest.mark.parametrize(
    ("name", "operator", "value", "value_list", "expected"),
    [
        ("Qty", ">", "0", None, [1]),
        ("Qty", "in", None, ["5", "-2"], [1, 2]),
        ("Qty", "not in", None, ["5"], [2, 3, 4, 5]),
        ("Price", ">=", "0.1", None, [1, 2]),
        ("Price", "<", "10.505", None, [1, 2]),
        ("Price", ">", "10.495", None, [1]),
        ("Paid", "=", "false", None, [2]),
        ("Paid", "!=", "true", None, [2, 3, 4, 5]),
        ("Due", "<", "2024-01-01", None, [2]),
        ("At", ">", "2024-01-01T01:00:00+01:00", None, [3]),
        ("Status", "=", "1", None, [1]),
        ("Status", "in", None, ["0", "1"], [1, 2]),
        ("Tags", "=", "[10,3,1]", None, [1]),
        ("Tags", "=", "[]", None, [2]),
        ("Tags", "contains", "1", None, [1]),
        ("Tags", "contains", "10", None, [1, 5]),
        ("Tags", "not contains", "0", None, [1, 2, 4, 5]),
        ("Customer", "=", CUSTOMERS[0]["Id"].upper(), None, [3]),
        ("Customer.Country", "=", "NL", None, [3]),
        ("Customer.Country", "!=", "NL", None, [1, 2, 4, 5]),
        ("Customer.Region.Name", "=", "EU", None, [3]),
        ("Customer.Region.Name", "=", None, None, [1, 2, 4, 5]),
        ("Ref", "=", "3FA85F64-5717-4562-B3FC-2C963F66AFA6", None, [4]),
        ("Doc", "!=", None, None, [4]),
        ("Doc", "=", None, None, [1, 2, 3, 5]),
        ("CreateTime", ">", "2024-01-01T00:02:00Z", None, [3, 4, 5]),
        ("Id", "in", None, [EVERY_TYPE[0]["Id"], EVERY_TYPE[3]["Id"].upper()], [1, 4]),
    ],
)
async def test_every_type_filters_as_expected(
    db: Backend,
    name: str,
    operator: str,
    value: str | None,
    value_list: list[str] | None,
    expected: list[int],
) -> None:
    await replace_orders(db, EVERY_TYPE)
    extra = {} if value_list is None else {"valueList": value_list}
    ids = await check(db, one(name, operator, value, **extra), EVERY_TYPE)
    assert [int(i[-12:]) for i in ids] == expected


async def test_rows_decode_through_entity_shape(db: Backend) -> None:
    records = [order(1, Title="x", Price=Decimal("2.25"), Tags=(1, 2), Due=date(2024, 2, 29), Paid=True)]
    await replace_orders(db, records)
    rows = await db.fetch(compile_query(one("Title", "=", "x"), TABLES, db.name).rows)
    shape = EntityShape(ORDER, TABLES.table(ORDER), _Named(db.name))  # type: ignore[arg-type]
    decoded = shape.decode(rows[0])
    assert {k: decoded[k] for k in ("Id", "Title", "Price", "Tags", "Due", "Paid", "CreateTime")} == {
        k: records[0][k] for k in ("Id", "Title", "Price", "Tags", "Due", "Paid", "CreateTime")
    }


class _Named:
    def __init__(self, name: str) -> None:
        self.name = name


async def test_keyset_pages_with_mixed_directions_and_nulls(db: Backend) -> None:
    records = [order(n, Qty=[1, None, 2][n % 3], Title=["b", None, "a", "b"][n % 4]) for n in range(23)]
    await replace_orders(db, records)
    for sort in (
        [{"fieldName": "Qty", "isDescending": True}, {"fieldName": "Title"}],
        [{"fieldName": "Qty"}, {"fieldName": "Title"}],
        [{"fieldName": "Title", "isDescending": True}],
        [],
    ):
        plan = query_plan({"sortOptions": sort, "limit": 4})
        everything = run(replace_page(plan, 0, 1000), records, RELATED)[0]
        assert await walk(db, plan, records) == [r["Id"] for r in everything]


def replace_page(plan: Plan, start: int, limit: int) -> Plan:
    return Plan(plan.entity, plan.filter, plan.order, plan.select, plan.expand, start, limit)


async def walk(db: Backend, plan: Plan, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every page by keyset cursor (through its wire encoding), concatenated."""
    by_id = {r["Id"]: r for r in records}
    seen: list[str] = []
    cursor = None
    for _ in range(len(records) + 2):
        page = await db.ids(compile_query(plan, TABLES, db.name, after=cursor).rows)
        seen += page
        if len(page) < plan.limit:
            return seen
        cursor = decode_cursor(plan, encode_cursor(plan, cursor_of(plan, by_id[page[-1]], RELATED)))
    raise AssertionError("keyset pagination did not finish")


async def test_values_are_bound_never_inlined(db: Backend) -> None:
    plan = one("Title", "=", "'; DROP TABLE x; --")
    sql = str(compile_query(plan, TABLES, db.name).rows.compile(dialect=db.dialect))
    assert "DROP" not in sql


# --- property: random records and random filters, SQL == reference ---------------------------------

TEXT_VALUES = st.text(alphabet="aAbB_%\\é ", max_size=3)
DATES = st.dates(min_value=date(2023, 12, 30), max_value=date(2024, 1, 3))
MOMENTS = st.integers(0, 4).map(lambda n: EPOCH + timedelta(milliseconds=n * 500))
DECIMALS = st.sampled_from(["-1.50", "0.00", "0.10", "0.25", "2.25", "10.00"]).map(Decimal)
CHOICES = st.integers(0, 3)
TAG_SETS = st.frozensets(st.integers(0, 11), max_size=3).map(lambda s: tuple(sorted(s)))
REFS = st.sampled_from(["3fa85f64-5717-4562-b3fc-2c963f66afa6", "00000000-0000-0000-0000-0000000000ff"])
CUSTOMER_IDS = st.sampled_from([c["Id"] for c in CUSTOMERS])

FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "Title": TEXT_VALUES,
    "Notes": TEXT_VALUES,
    "Qty": st.integers(-2, 2),
    "Price": DECIMALS,
    "Paid": st.booleans(),
    "Due": DATES,
    "At": MOMENTS,
    "Status": CHOICES,
    "Tags": TAG_SETS,
    "Customer": CUSTOMER_IDS,
    "Ref": REFS,
}


@st.composite
def order_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 14))
    ids = draw(st.lists(st.uuids(), min_size=count, max_size=count, unique=True))
    records = []
    for record_id in ids:
        values = {name: draw(st.none() | strategy) for name, strategy in FIELD_VALUES.items()}
        records.append({**system(str(record_id), minutes=draw(st.integers(0, 3))), **values})
    return records


PATHS = [*FIELD_VALUES, "Id", "CreateTime", "Customer.Country", "Customer.Region.Name", "Doc"]


def wire(value: Any, operator: Operator) -> str:
    """A core value as UiPath sends it (always a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.microsecond else format_datetime(value)
    if isinstance(value, tuple):
        return orjson.dumps(list(value)).decode()
    return str(value)


def value_strategy(path: str, operator: Operator) -> st.SearchStrategy[str]:
    """Wire values for a path: drawn from the pools the records use, so filters hit."""
    name = path.rsplit(".", maxsplit=1)[-1]
    if name in ("Country", "Name"):
        base: st.SearchStrategy[Any] = st.sampled_from(["NL", "nl", "EU", "N", ""])
    elif name == "Tags" and operator in (Operator.CONTAINS, Operator.NOT_CONTAINS):
        base = st.integers(0, 11)
    elif name == "Id":
        base = st.uuids().map(str)
    elif name == "CreateTime":
        base = st.integers(0, 4).map(lambda n: EPOCH + timedelta(minutes=n))
    elif name == "Price":
        base = DECIMALS | st.sampled_from(["0.1", "0.105", "2.249", "-1.5"]).map(Decimal)
    else:
        base = FIELD_VALUES[name]
    return base.map(lambda value: wire(value, operator))


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    path = draw(st.sampled_from(PATHS))
    field_type = resolve(tuple(path.split(".")), ORDER, SCHEMA, 3).field.type
    operators = sorted(ALLOWED[field_type] | {Operator.EQ, Operator.NE})
    operator = draw(st.sampled_from(operators))
    if operator in (Operator.IN, Operator.NOT_IN):
        values = draw(st.lists(value_strategy(path, operator), min_size=1, max_size=3))
        return Condition(tuple(path.split(".")), operator, None, tuple(values))
    if operator in (Operator.EQ, Operator.NE) and (
        field_type is FieldType.FILE or draw(st.integers(0, 5)) == 0
    ):
        return Condition(tuple(path.split(".")), operator)
    return Condition(tuple(path.split(".")), operator, draw(value_strategy(path, operator)))


FILTERS = st.recursive(
    conditions(),
    lambda children: st.builds(Group, st.sampled_from(Logic), st.lists(children, max_size=3).map(tuple)),
    max_leaves=6,
)
SORTABLE = [p for p in PATHS if sortable(resolve(tuple(p.split(".")), ORDER, SCHEMA, 3).field.type)]
SORTS = st.lists(
    st.builds(Sort, st.sampled_from(SORTABLE).map(lambda p: tuple(p.split("."))), st.booleans()), max_size=3
)


@settings(
    max_examples=int(os.environ.get("QUERY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    records=order_records(),
    node=st.none() | FILTERS,
    sort=SORTS,
    start=st.integers(0, 4),
    limit=st.integers(1, 6),
)
async def test_sql_equals_reference(
    db: Backend, records: list[dict[str, Any]], node: Any, sort: list[Sort], start: int, limit: int
) -> None:
    await replace_orders(db, records)
    plan = plan_query(Query(node, tuple(sort), None, start, limit), ORDER, SCHEMA, expansion_level=3)
    matched = await check(db, plan, records)
    event("page empty" if not matched else "page has records")
    paged = replace_page(plan, 0, limit)
    assert await walk(db, paged, records) == [
        r["Id"] for r in run(replace_page(plan, 0, 1000), records, RELATED)[0]
    ]
