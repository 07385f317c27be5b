"""Query benchmark: the query engine at 100,000 and 1,000,000 records, on SQLite and PostgreSQL, each figure
beside the same SQL run directly through the driver (aiosqlite / asyncpg) in the same run.

    .venv/bin/python bench/query.py                      # 100k and 1M records, both backends (~15 min)
    .venv/bin/python bench/query.py --sizes 100000       # one size
    .venv/bin/python bench/query.py --smoke              # seconds: 3,000 records (CI)
    .venv/bin/python bench/query.py --only aggregate,sql # the aggregate and SQL scenarios alone

Aggregate scenarios (`groupBy`/`aggregates`/`binnings` in the query body) are timed like the others.
SQL scenarios (`query/execute`, docs/sql.md) time `raw` as the rewritten SQL (entity references turned
into permission subqueries) run through the driver; `query` adds parsing, checking and rewriting with
sqlglot and decoding the rows, so `query / raw` on the `WHERE Id = …` scenario is the rewrite's cost.

For each scenario the script runs one traced call to capture every statement the engine sends (page,
count, expansion), then times, interleaved: `raw` = the captured SQL texts and arguments executed on a
connection of the same driver, rows fetched, nothing decoded; `query` = QueryService.run in process
(parse, plan, permissions, SQL built and bound, driver, rows decoded, expansion, cursors); `engine` =
the same plus rendering the records to JSON bytes, as the handler answers; `http` = the same request
through the ASGI app in process (routing, authentication, middleware, handler; no socket). Medians.

PostgreSQL comes from RECORDBASE_TEST_POSTGRES_URL (default 127.0.0.1:5432, database `test`); each
run uses a fresh schema and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import POSTGRES_URL

from recordbase.api.dataservice.query import render
from recordbase.app import create_app
from recordbase.core.actors import SYSTEM
from recordbase.core.query import Query, parse_query
from recordbase.core.query.aggregate import parse_aggregation
from recordbase.core.query.service import AggregatePage, QueryRequest
from recordbase.core.schema import Entity
from recordbase.core.sql.service import SqlOptions
from recordbase.schemafile import load_document
from recordbase.services import Services
from recordbase.settings import Settings
from recordbase.storage import codecs, tables
from recordbase.storage.timed import TimedConnection

ACTOR = "00000000-0000-0000-0000-000000000001"
STORES = 1000
WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet")
SCHEMA = """
entities:
  - name: Store
    fields:
      - {name: city, type: text}
  - name: Bench
    fields:
      - {name: sku, type: text, unique: true}
      - {name: label, type: text}
      - {name: amount, type: decimal, decimalPlaces: 2}
      - {name: qty, type: integer}
      - {name: store, type: relationship, references: Store}
    indexes:
      - {name: byAmount, fields: [amount]}
"""
Statement = tuple[str, Sequence[Any]]


@dataclass
class Scenario:
    label: str
    body: dict[str, Any]
    level: int = 0
    cursor: str | None = None
    kind: str = "records"
    """`records` (a page of records), `aggregate` (groups or bins), or `sql` (`sql` through query/execute)."""
    sql: str = ""


@dataclass
class Figure:
    scenario: str
    statements: int
    query: float
    engine: float
    http: float
    raw: float

    def row(self, backend: str, size: int) -> str:
        times = (self.raw, self.query, self.engine, self.http)
        raw, query, engine, http = (f"{seconds * 1000:.2f}" for seconds in times)
        return (
            f"| {backend} | {size:,} | {self.scenario} | {self.statements} | {raw} | {query} "
            f"| {self.query / self.raw:.2f} | {engine} | {self.engine / self.raw:.2f} | {http} "
            f"| {self.http / self.raw:.2f} |"
        )


@dataclass
class Bench:
    backend: str
    size: int
    services: Services
    http: httpx.AsyncClient
    raw: Callable[[Statement], Awaitable[Any]]
    figures: list[Figure] = field(default_factory=list)


# --- setup ---------------------------------------------------------------------------------------


@asynccontextmanager
async def opened(backend: str, size: int) -> AsyncIterator[Bench]:
    with tempfile.TemporaryDirectory() as directory:
        schema = "bq_" + uuid.uuid4().hex[:12]
        settings = (
            Settings(data_dir=Path(directory), database_url="")
            if backend == "sqlite"
            else Settings(data_dir=Path(directory), database_url=POSTGRES_URL, database_schema=schema)
        )
        try:
            async with app_client(settings) as (services, http), raw_driver(settings, schema) as raw:
                yield Bench(backend, size, services, http, raw)
        finally:
            if backend == "postgres":
                connection = await asyncpg.connect(POSTGRES_URL)
                await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                await connection.close()


@asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        token = await services.tokens.create_admin_token("bench")
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", headers=headers) as http:
            yield services, http


@asynccontextmanager
async def raw_driver(settings: Settings, schema: str) -> AsyncIterator[Callable[[Statement], Awaitable[Any]]]:
    """A connection of the app's own driver, outside the app: runs SQL text with its arguments."""
    if not settings.is_postgres:
        path = settings.resolved_database_url.removeprefix("sqlite:///")
        async with aiosqlite.connect(path, isolation_level=None) as connection:
            yield lambda statement: connection.execute_fetchall(statement[0], tuple(statement[1]))
        return
    connection = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": schema})
    await connection.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")
    try:
        yield lambda statement: connection.fetch(statement[0], *statement[1])
    finally:
        await connection.close()


async def define(bench: Bench) -> tuple[Entity, Entity]:
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(SCHEMA)
    await bench.services.schema_service.apply(load_document(Path(file.name)), ACTOR)
    os.unlink(file.name)
    schema = bench.services.schemas.current
    return schema.entity("Store"), schema.entity("Bench")


def rows(entity: Entity, backend: str, values: Iterator[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """Records as the driver takes them, encoded as storage/records.py encodes them."""
    stamp = codecs.timestamp_encoder("sqlite" if backend == "sqlite" else "postgresql")
    encoders = [codecs.encoder("sqlite" if backend == "sqlite" else "postgresql", f) for f in entity.fields]
    for record in values:
        created = stamp(record.pop("_at"))
        fields = [
            None if record.get(f.name) is None else e(record[f.name])
            for f, e in zip(entity.fields, encoders, strict=True)
        ]
        yield (str(uuid.uuid4()), ACTOR, created, ACTOR, created, 1, *fields)


def bench_values(size: int, stores: list[str]) -> Iterator[dict[str, Any]]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    shuffled = random.Random(7)
    for n in range(size):
        yield {
            "_at": start + timedelta(seconds=n * 17),
            "sku": f"SKU{n:08d}",
            "label": f"item {n} {WORDS[shuffled.randrange(len(WORDS))]}",
            "amount": Decimal(shuffled.randrange(0, 1_000_000)) / 100,
            "qty": shuffled.randrange(0, 100),
            "store": stores[n % len(stores)],
        }


async def seed(bench: Bench, store: Entity, item: Entity) -> list[str]:
    """Stores and records straight into the tables through the raw driver (minutes, not hours)."""
    store_values = ({"_at": datetime(2024, 1, 1, tzinfo=UTC), "city": f"city {n}"} for n in range(STORES))
    store_rows = list(rows(store, bench.backend, store_values))
    ids = [r[0] for r in store_rows]
    await insert(bench, store, store_rows)
    batch: list[tuple[Any, ...]] = []
    for row in rows(item, bench.backend, bench_values(bench.size, ids)):
        batch.append(row)
        if len(batch) == 50_000:
            await insert(bench, item, batch)
            batch = []
    await insert(bench, item, batch)
    await analyze(bench)
    return ids


def columns(entity: Entity) -> list[str]:
    return ["Id", "CreatedBy", "CreateTime", "UpdatedBy", "UpdateTime", tables.REVISION,
            *(tables.column_name(f) for f in entity.fields)]  # fmt: skip


async def insert(bench: Bench, entity: Entity, batch: list[tuple[Any, ...]]) -> None:
    if not batch:
        return
    names = columns(entity)
    if bench.backend == "sqlite":
        path = bench.services.settings.resolved_database_url.removeprefix("sqlite:///")
        quoted = ", ".join(f'"{n}"' for n in names)
        marks = ", ".join("?" for _ in names)
        with sqlite3.connect(path) as connection:
            connection.executemany(
                f'INSERT INTO "{tables.table_name(entity)}" ({quoted}) VALUES ({marks})', batch
            )
        return
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.copy_records_to_table(
            tables.table_name(entity),
            records=batch,
            columns=names,
            schema_name=bench.services.settings.database_schema,
        )
    finally:
        await connection.close()


async def analyze(bench: Bench) -> None:
    await bench.raw(("ANALYZE", ()))


# --- measuring -----------------------------------------------------------------------------------


@contextmanager
def tracing(log: list[Statement]) -> Iterator[None]:
    """Record the SQL text and arguments of every statement the app runs."""
    original = TimedConnection.fetch

    async def fetch(self: TimedConnection, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
        log.append(self.inner.database.bind(statement, params))
        return await original(self, statement, params)

    TimedConnection.fetch = fetch  # type: ignore[method-assign]
    try:
        yield
    finally:
        TimedConnection.fetch = original  # type: ignore[method-assign]


async def query_call(bench: Bench, scenario: Scenario) -> tuple[Any, Query]:
    if scenario.kind == "sql":
        return await bench.services.sql.execute(scenario.sql, SqlOptions(), SYSTEM), Query()
    query = parse_query(scenario.body)
    spec = parse_aggregation(scenario.body)
    if spec is not None:
        return await bench.services.query.aggregate("Bench", query, spec, SYSTEM), query
    request = QueryRequest(query, scenario.level, after=scenario.cursor)
    return await bench.services.query.run("Bench", request, SYSTEM), query


async def engine_call(bench: Bench, scenario: Scenario) -> bytes:
    found, query = await query_call(bench, scenario)
    if scenario.kind == "sql":
        return orjson.dumps({"results": found})
    if isinstance(found, AggregatePage):
        return orjson.dumps({"totalRecordCount": found.total, "value": found.rows})
    return orjson.dumps(render(found, scenario.level, query.select, SYSTEM))


async def http_call(bench: Bench, scenario: Scenario) -> None:
    if scenario.kind == "sql":
        response = await bench.http.post("/api/v1/query/execute", json={"query": scenario.sql})
        assert response.status_code == 200, response.text[:300]
        return
    body = {**scenario.body, "cursor": scenario.cursor} if scenario.cursor else scenario.body
    response = await bench.http.post(
        f"/api/EntityService/Bench/query?expansionLevel={scenario.level}", json=body
    )
    assert response.status_code == 200, response.text[:300]


async def timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def measure(bench: Bench, scenario: Scenario, budget: float, most: int) -> Figure:
    statements: list[Statement] = []
    if scenario.kind == "sql":
        statements.append((bench.services.sql.rewritten(scenario.sql, SYSTEM), ()))
    else:
        with tracing(statements):
            await engine_call(bench, scenario)

    async def raw() -> None:
        for statement in statements:
            await bench.raw(statement)

    calls = {
        "query": lambda: query_call(bench, scenario),
        "engine": lambda: engine_call(bench, scenario),
        "http": lambda: http_call(bench, scenario),
        "raw": raw,
    }
    samples: dict[str, list[float]] = {name: [] for name in calls}
    deadline = time.perf_counter() + budget
    for _ in range(2):  # warm every path: compiled statements, prepared statements, page cache
        for call in calls.values():
            await call()
    while len(samples["raw"]) < 5 or (time.perf_counter() < deadline and len(samples["raw"]) < most):
        for name, call in calls.items():
            samples[name].append(await timed(call))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return Figure(
        scenario.label, len(statements), median["query"], median["engine"], median["http"], median["raw"]
    )


def where(name: str, operator: str, value: str) -> dict[str, Any]:
    return {"fieldName": name, "operator": operator, "value": value}


async def cursor_at(bench: Bench, body: dict[str, Any], depth: int) -> str:
    """The cursor after record `depth` of `body`'s order, found by walking pages of 1,000."""
    cursor = None
    for _ in range(depth // 1000):
        page = await bench.services.query.run("Bench", QueryRequest(parse_query({**body, "limit": 1000}), 0,
                                                                    after=cursor), SYSTEM)  # fmt: skip
        cursor = page.end_cursor
    assert cursor is not None
    return cursor


async def scenarios(bench: Bench, stores: list[str]) -> list[Scenario]:
    by_amount = {"sortOptions": [{"fieldName": "amount"}], "limit": 50}
    newest = {"sortOptions": [{"fieldName": "CreateTime", "isDescending": True}], "limit": 50}
    depth = min(10_000, bench.size // 2 // 1000 * 1000)
    sku = f"SKU{bench.size // 2:08d}"
    return [
        Scenario(
            "indexed equality (`sku =`, unique)", {"filterGroup": {"queryFilters": [where("sku", "=", sku)]}}
        ),
        Scenario(
            "range on indexed `amount`, sorted, page 50",
            {
                **by_amount,
                "filterGroup": {
                    "queryFilters": [where("amount", ">=", "1000"), where("amount", "<", "2000")]
                },
            },
        ),
        Scenario(
            "`contains` on text, page 50",
            {"limit": 50, "filterGroup": {"queryFilters": [where("label", "contains", "9 golf")]}},
        ),
        Scenario("page 1 sorted by `amount` (with count)", by_amount),
        Scenario(
            f"cursor page at depth {depth:,} by `amount`",
            by_amount,
            cursor=await cursor_at(bench, by_amount, depth),
        ),
        Scenario(f"OFFSET page at depth {depth:,} by `amount`", {**by_amount, "start": depth}),
        Scenario(
            "expansion level 2, `store =`, page 50",
            {"limit": 50, "filterGroup": {"queryFilters": [where("store", "=", stores[3])]}},
            level=2,
        ),
        Scenario(
            "newest first by `CreateTime`, cursor page", newest, cursor=await cursor_at(bench, newest, depth)
        ),
    ]


async def aggregate_scenarios(bench: Bench) -> list[Scenario]:
    """Groups, bins and the SQL dialect over the same records."""
    point = (await bench.services.sql.execute(f"SELECT Id FROM Bench WHERE sku = 'SKU{bench.size // 2:08d}'",
                                              SqlOptions(), SYSTEM))[0]["Id"]  # fmt: skip
    cheap = {"queryFilters": [where("amount", "<", "500")]}
    totals = {
        "aggregates": [
            {"function": "COUNT", "field": "Id"},
            {"function": "SUM", "field": "amount"},
            {"function": "AVG", "field": "qty"},
        ]
    }
    by_qty = {
        "groupBy": ["qty"],
        "limit": 100,
        "aggregates": [{"function": "COUNT", "field": "Id"}, {"function": "MAX", "field": "amount"}],
    }
    bins = {
        "filterGroup": cheap,
        "binnings": [{"fieldName": "amount", "binSize": 100, "aggregateFunction": "COUNT", "alias": "n"}],
    }
    return [
        Scenario("aggregate: COUNT + SUM(amount) + AVG(qty) over all", totals, kind="aggregate"),
        Scenario("aggregate: group by `qty` (100 groups), COUNT + MAX(amount)", by_qty, kind="aggregate"),
        Scenario("aggregate: bins of 100 on `amount` where amount < 500, COUNT", bins, kind="aggregate"),
        Scenario("SQL: `SELECT sku, amount FROM Bench WHERE Id = …` (the rewrite's cost)", {}, kind="sql",
                 sql=f"SELECT sku, amount FROM Bench WHERE Id = '{point}'"),
        Scenario("SQL: GROUP BY qty, COUNT, SUM(amount), ORDER BY LIMIT 10", {}, kind="sql",
                 sql="SELECT qty, COUNT(Id) AS n, SUM(amount) AS total FROM Bench GROUP BY qty "
                     "ORDER BY total DESC LIMIT 10"),
        Scenario("SQL: JOIN Store, GROUP BY city, LIMIT 10", {}, kind="sql",
                 sql="SELECT s.city, COUNT(b.Id) AS n FROM Bench b JOIN Store s ON s.Id = b.store "
                     "WHERE b.amount < 100 GROUP BY s.city ORDER BY n DESC LIMIT 10"),
    ]  # fmt: skip


async def drop_create_time_index(bench: Bench, item: Entity) -> None:
    """The experiment of docs/benchmarks.md: the same newest-first page without the CreateTime index."""
    statement = f'DROP INDEX "{tables.index_name(f"ct_{item.id}")}"'
    if bench.backend == "sqlite":
        path = bench.services.settings.resolved_database_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as connection:
            connection.execute(statement)
    else:
        await bench.raw((statement, ()))
    await analyze(bench)


async def run_backend(backend: str, size: int, budget: float, most: int, only: set[str]) -> list[str]:
    async with opened(backend, size) as bench:
        store, item = await define(bench)
        started = time.perf_counter()
        stores = await seed(bench, store, item)
        print(f"-- {backend} {size:,}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
        chosen = [*await scenarios(bench, stores), *await aggregate_scenarios(bench)]
        for scenario in [s for s in chosen if s.kind in only]:
            bench.figures.append(await measure(bench, scenario, budget, most))
            print(bench.figures[-1].row(backend, size), flush=True)
        if "records" not in only:
            return [figure.row(backend, size) for figure in bench.figures]
        newest = (await scenarios(bench, stores))[-1]
        await drop_create_time_index(bench, item)
        newest.label += ", without the CreateTime index"
        bench.figures.append(await measure(bench, newest, budget, most))
        print(bench.figures[-1].row(backend, size), flush=True)
        return [figure.row(backend, size) for figure in bench.figures]


async def postgres_reachable() -> bool:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError):
        return False
    await connection.close()
    return True


HEADER = (
    "| backend | records | scenario | statements | raw ms | query ms | query / raw | engine ms "
    "| engine / raw | http ms | http / raw |\n|---|---|---|---|---|---|---|---|---|---|---|"
)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="3,000 records, a few runs each (CI)")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget per scenario")
    parser.add_argument("--only", default="records,aggregate,sql", help="scenario kinds to run")
    args = parser.parse_args()
    only = set(args.only.split(","))
    sizes = [3000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    budget, most = (0.2, 10) if args.smoke else (args.seconds, 400)
    backends = args.backends.split(",")
    if "postgres" in backends and not await postgres_reachable():
        print(f"PostgreSQL unreachable at {POSTGRES_URL}; SQLite only")
        backends.remove("postgres")
    print(HEADER)
    results = [
        row
        for backend in backends
        for size in sizes
        for row in await run_backend(backend, size, budget, most, only)
    ]
    print("\n" + HEADER + "\n" + "\n".join(results))


if __name__ == "__main__":
    asyncio.run(main())
