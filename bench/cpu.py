"""Per-request CPU of recordbase's hot paths, in process, without a network or a load generator.

Calls the ASGI app directly (no HTTP server, no client library) for each operation of the harness
(get by id, list page, query, insert one, update one, insert-batch) and prints microseconds of
process CPU per request: a figure that holds on a busy machine, unlike wrk's throughput. With
`--profile OP` it runs that operation under cProfile and prints the functions where the time goes.

    python bench/cpu.py                      # both backends, every operation
    python bench/cpu.py --backend sqlite --profile get
    python bench/cpu.py --smoke              # a few requests each (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import uvloop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import POSTGRES_URL, rows, schema_file  # noqa: E402
from recordbase.api.http import JSONResponse  # noqa: E402
from recordbase.app import create_app  # noqa: E402
from recordbase.core.actors import SYSTEM_ACTOR_ID  # noqa: E402
from recordbase.core.expand import plain  # noqa: E402
from recordbase.schemafile import load_document  # noqa: E402
from recordbase.settings import Settings  # noqa: E402

OPERATIONS = ("get", "list", "query", "insert", "update", "batch")
QUERY = {
    "filterGroup": {
        "logicalOperator": 0,
        "queryFilters": [
            {"fieldName": "category", "operator": "=", "value": "cat_7"},
            {"fieldName": "qty", "operator": ">=", "value": "10"},
        ],
    },
    "sortOptions": [{"fieldName": "price", "isDescending": True}],
    "start": 0,
    "limit": 50,
}


class Asgi:
    """The smallest ASGI client: one request, the status and the body back."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.auth = (b"authorization", f"Bearer {token}".encode())

    async def __call__(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [self.auth, (b"content-type", b"application/json"), (b"host", b"bench")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        answer: dict[str, Any] = {"body": b""}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        return answer["status"], answer["body"]


def settings_for(backend: str, workdir: Path) -> Settings:
    if backend == "sqlite":
        return Settings(data_dir=workdir / "data", database_url="", log_level="warning")
    schema = "bench_prof_" + uuid.uuid4().hex[:12]
    return Settings(
        data_dir=workdir / "data", database_url=POSTGRES_URL, database_schema=schema, log_level="warning"
    )


def operations(client: Asgi, ids: list[str]) -> dict[str, Callable[[], Awaitable[tuple[int, bytes]]]]:
    one = orjson.dumps(rows(1, 1)[0])
    batch = orjson.dumps(rows(1, 1000))
    query = orjson.dumps(QUERY)
    base = "/api/EntityService"
    return {
        "get": lambda: client("GET", f"{base}/Item/read/{random.choice(ids)}?expansionLevel=0"),
        "list": lambda: client(
            "GET", f"{base}/Item/read?start={random.randint(0, 999)}&limit=50&expansionLevel=0"
        ),
        "query": lambda: client("POST", f"{base}/Item/query?expansionLevel=0", query),
        "insert": lambda: client("POST", f"{base}/BulkItem/insert?expansionLevel=0", one),
        "update": lambda: client(
            "POST", f"{base}/Item/update/{random.choice(ids)}?expansionLevel=0", b'{"qty": 5}'
        ),
        "batch": lambda: client("POST", f"{base}/BulkItem/insert-batch?expansionLevel=0", batch),
    }


async def seed(client: Asgi, count: int) -> list[str]:
    ids: list[str] = []
    for start in range(1, count + 1, 1000):
        body = orjson.dumps(rows(start, min(1000, count - start + 1)))
        status, answer = await client("POST", "/api/EntityService/Item/insert-batch?expansionLevel=0", body)
        assert status == 200, answer[:300]
        ids += [r["Id"] for r in orjson.loads(answer)["successRecords"]]
    return ids


async def run(backend: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="rb-prof-") as temporary:
        settings = settings_for(backend, Path(temporary))
        app = create_app(settings, server=True)  # as `recordbase serve` runs it (its garbage collector)
        try:
            async with app.router.lifespan_context(app):
                document = load_document(schema_file(Path(temporary)))
                await app.state.services.schema_service.apply(document, SYSTEM_ACTOR_ID, prune=False)
                token = await app.state.services.tokens.create_admin_token("bench")
                client = Asgi(app, token)
                ids = await seed(client, args.rows)
                if args.layers or args.smoke:
                    await layers(app, client, ids, backend, args)
                if args.layers:
                    return
                ops = operations(client, ids)
                for op in args.op or OPERATIONS:
                    await measure(backend, op, ops[op], args)
        finally:
            if settings.is_postgres:
                connection = await asyncpg.connect(POSTGRES_URL)
                await connection.execute(f'DROP SCHEMA IF EXISTS "{settings.database_schema}" CASCADE')
                await connection.close()


async def layers(app: Any, client: Asgi, ids: list[str], backend: str, args: argparse.Namespace) -> None:
    """A get by id and an insert, each measured whole and then without its outer layers, one after
    the other: what each layer adds to a request (`--layers`). The innermost is the driver alone
    running the store's statement on a connection of its own (get) or an empty write transaction
    (insert: `BEGIN`, `COMMIT` and the locks)."""
    services = app.state.services
    records, store = services.records, services.records.store
    schema = records.schemas.current
    item = schema.find_entity("Item")
    actor = await services.auth.authenticate_bearer(client.auth[1].decode().removeprefix("Bearer "))
    row = rows(1, 1)[0]
    statement, _ = store.shape(schema, item).select_by_id.bind({"id": ids[0]})
    driver, close = await driver_fetch(services, statement)

    async def get_json() -> None:
        entity, record = await records.get("Item", random.choice(ids), 0, actor)
        JSONResponse(plain(entity, record, 0, actor.permissions))

    async def insert_json() -> None:
        entity, record = await records.insert("BulkItem", dict(row), actor, 0)
        JSONResponse(plain(entity, record, 0, actor.permissions))

    async def empty_write() -> None:
        async with store.writer(schema):
            pass

    steps = {
        "get": [
            ("request through the ASGI app", operations(client, ids)["get"]),
            ("service and JSON, no HTTP", get_json),
            ("service (records.get)", lambda: records.get("Item", random.choice(ids), 0, actor)),
            ("store (fetch_by_ids)", lambda: store.fetch_by_ids(schema, item, [random.choice(ids)])),
            ("driver: the store's statement", lambda: driver(random.choice(ids))),
        ],
        "insert": [
            ("request through the ASGI app", operations(client, ids)["insert"]),
            ("service and JSON, no HTTP", insert_json),
            ("service (records.insert)", lambda: records.insert("BulkItem", dict(row), actor, 0)),
            ("an empty write transaction", empty_write),
        ],
    }
    try:
        for op, chain in steps.items():
            figures = [(name, await least_cpu(call, args)) for name, call in chain]
            for name, micros in figures:
                print(f"{backend:8} {op:7} {name:32} CPU µs/req: {micros:8.1f}", flush=True)
    finally:
        await close()


async def least_cpu(call: Callable[[], Awaitable[Any]], args: argparse.Namespace) -> float:
    for _ in range(min(args.requests, 100)):
        await call()
    best = float("inf")
    for _ in range(args.rounds):
        began = time.process_time()
        for _ in range(args.requests):
            await call()
        best = min(best, (time.process_time() - began) / args.requests * 1e6)
    return best


async def driver_fetch(services: Any, statement: str) -> tuple[Callable[[str], Awaitable[Any]], Any]:
    """The statement on a driver connection of the bench's own: sqlite3 on the loop, or asyncpg."""
    settings = services.settings
    if not settings.is_postgres:
        path = settings.resolved_database_url.removeprefix("sqlite:///")
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

        async def fetch_sqlite(key: str) -> Any:
            return connection.execute(statement, (key,)).fetchall()

        async def close_sqlite() -> None:
            connection.close()

        return fetch_sqlite, close_sqlite
    raw = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": settings.database_schema})
    await raw.set_type_codec("uuid", encoder=str, decoder=str, schema="pg_catalog", format="text")

    async def fetch_postgres(key: str) -> Any:
        return await raw.fetch(statement, key)

    return fetch_postgres, raw.close


async def measure(backend: str, op: str, call: Callable[[], Awaitable[tuple[int, bytes]]], args: Any) -> None:
    """CPU per request over several rounds; the least is the figure least disturbed by other work."""
    count = max(1, args.requests // (50 if op == "batch" else 1))
    for _ in range(min(count, 20)):
        status, body = await call()
        assert 200 <= status < 300, (op, status, body[:300])
    profiler = cProfile.Profile(time.thread_time) if args.profile == op else None
    rounds = []
    for _ in range(args.rounds):
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        for _ in range(count):
            await call()
        if profiler:
            profiler.disable()
        rounds.append((time.process_time() - cpu) / count * 1e6)
    rounds.sort()
    print(
        f"{backend:8} {op:7} {count:6} requests x {args.rounds}  CPU µs/req: least {rounds[0]:8.0f}"
        f"  median {rounds[len(rounds) // 2]:8.0f}",
        flush=True,
    )
    if profiler:
        stats = pstats.Stats(profiler)
        if args.dump:
            stats.dump_stats(args.dump)
        stats.sort_stats(args.sort).print_stats(args.lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgres"])
    parser.add_argument("--op", action="append", choices=OPERATIONS)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per operation (the least is shown)")
    parser.add_argument("--profile", choices=OPERATIONS)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--lines", type=int, default=40)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument(
        "--layers", action="store_true", help="what each layer adds to a get by id and an insert"
    )
    parser.add_argument("--dump", type=Path, help="with --profile: write its statistics to this file")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.requests, args.rounds = 1000, 50, 1
    for backend in args.backend or ["sqlite", "postgres"]:
        uvloop.run(run(backend, args))  # the loop `recordbase serve` runs on (uvicorn's choice)
    return 0


if __name__ == "__main__":
    sys.exit(main())
